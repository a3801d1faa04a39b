#!/usr/bin/env perl
# README's REST examples must work as written against `make run`'s demo data:
# each curl of the "REST in six curls" block answers 2xx.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ShimTest;

my $root = "$FindBin::Bin/../..";
open my $fh, '<', "$root/README.md" or die $!;
my $readme = do { local $/; <$fh> };
my ($block) = $readme =~ /^## REST in six curls\n.*?^```sh\n(.*?)^```/ms;
ok($block, 'README has the curl block');

# the demo data and principal that make run sets up
system("psql -X -q -v ON_ERROR_STOP=1 -d $ENV{METASTORE_TEST_DB} -f $root/scripts/demo.sql >/dev/null") == 0
  or die "demo.sql failed\n";
my $key = principal_key('demo', ['*', 'writer']);

$block =~ s/\\\n\s*/ /g;                       # join continued lines
my @curls = grep { /^curl / } split /\n/, $block;
cmp_ok(scalar @curls, '>=', 6, 'six curl examples');
for my $c (@curls) {
    (my $cmd = $c) =~ s{http://127\.0\.0\.1:8002}{$ENV{METASTORE_URL}}g;
    $cmd .= q{ -o /dev/null -w '%{http_code}'};
    local $ENV{KEY} = $key;
    open my $p, '-|', 'bash', '-c', $cmd or die $!;
    my $status = <$p> // '';
    close $p;
    (my $label = $c) =~ s/\s+/ /g;
    like($status, qr/^2\d\d$/, 'answers 2xx: ' . substr($label, 0, 90));
}
done_testing();
