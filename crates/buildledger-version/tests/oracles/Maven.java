// buildledger-version oracle: Maven's ComparableVersion.
// Reads "a<TAB>b" lines on stdin; prints -1, 0 or 1 per line.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.maven.artifact.versioning.ComparableVersion;

public class Maven {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder out = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) continue;
            int t = line.indexOf('\t');
            int c = new ComparableVersion(line.substring(0, t)).compareTo(new ComparableVersion(line.substring(t + 1)));
            out.append(Integer.signum(c)).append('\n');
        }
        System.out.print(out);
    }
}
