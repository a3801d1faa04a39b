#!/usr/bin/env perl
# Every function PUBLIC may call is documented: its name appears in
# docs/sql-api.md (or docs/rest-api.md).  Route handlers are documented by
# their route (and their COMMENT is generated from it), so they are exempt.
use strict;
use warnings;
use Test::More;
use FindBin;

my $root = "$FindBin::Bin/../..";
sub slurp { my $f = shift; open my $fh, '<', $f or die "$f: $!"; local $/; <$fh> }

my $sql = join "\n", map { slurp($_) } sort glob("$root/sql/install/*.sql");
my %revoked = map { $_ => 1 } ($sql =~ /REVOKE ALL ON FUNCTION metastore\."?(\w+)"?\(/g);
my %functions = map { $_ => 1 } ($sql =~ /CREATE FUNCTION metastore\."?(\w+)"?\(/g);
my $docs = slurp("$root/docs/sql-api.md") . slurp("$root/docs/rest-api.md") . slurp("$root/docs/search.md");

my @public = grep { !$revoked{$_} && !/^http_(records|metadata|flags|ofrep|registry|events|features)_|^http_openapi$/ } sort keys %functions;
ok(@public >= 20, 'found the public functions of the install script');
for my $f (@public) {
    like($docs, qr/\b\Q$f\E\b/, "$f is documented");
}
done_testing();
