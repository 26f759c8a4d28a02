<?php
// buildledger-version oracle: Packagist order per Composer\Semver (Debian's
// php-composer-semver). Reads "a<TAB>b" lines on stdin and prints, per line:
//   -1, 0 or 1  the order of VersionParser::normalize(a) and normalize(b) as
//               Comparator gives it (Comparator::compare runs version_compare
//               on the normalized strings, as Composer's constraint matching
//               does; the two are checked against each other);
//   invalid     normalize threw for either side;
//   branch      either side normalizes to a "dev-" branch name (no order).
// Usage: php composer_oracle.php [path to Composer/Semver/autoload.php]
$autoload = $argc > 1 ? $argv[1] : '/usr/share/php/Composer/Semver/autoload.php';
require $autoload;

use Composer\Semver\Comparator;
use Composer\Semver\VersionParser;

$parser = new VersionParser();
$norm = function ($v) use ($parser) {
    try {
        return $parser->normalize($v);
    } catch (\UnexpectedValueException $e) {
        return null;
    }
};
$out = array();
foreach (explode("\n", stream_get_contents(STDIN)) as $line) {
    if ($line === '') {
        continue;
    }
    $ab = explode("\t", $line, 2);
    $na = $norm($ab[0]);
    $nb = $norm(isset($ab[1]) ? $ab[1] : '');
    if ($na === null || $nb === null) {
        $out[] = 'invalid';
        continue;
    }
    if (strpos($na, 'dev-') === 0 || strpos($nb, 'dev-') === 0) {
        $out[] = 'branch';
        continue;
    }
    $lt = Comparator::lessThan($na, $nb);
    $eq = Comparator::equalTo($na, $nb);
    $gt = Comparator::greaterThan($na, $nb);
    $c = $lt ? -1 : ($eq ? 0 : ($gt ? 1 : 2));
    // Exactly one must hold, and it must be version_compare's answer.
    if ((int) $lt + (int) $eq + (int) $gt !== 1 || $c !== version_compare($na, $nb)) {
        $out[] = 'inconsistent';
        continue;
    }
    $out[] = (string) $c;
}
echo implode("\n", $out), "\n";
