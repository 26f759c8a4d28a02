# buildledger-version oracle: RubyGems' Gem::Version.
# Reads "a<TAB>b" lines on stdin; prints -1, 0, 1 or E (either invalid).
require "rubygems"
out = []
STDIN.read.split("\n").each do |line|
  next if line.empty?
  a, b = line.split("\t", 2)
  if Gem::Version.correct?(a) && Gem::Version.correct?(b)
    out << (Gem::Version.new(a) <=> Gem::Version.new(b)).to_s
  else
    out << "E"
  end
end
puts out.join("\n")
