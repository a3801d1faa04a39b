#!/usr/bin/env perl
# The database goes away mid-run: requests get 503 (never a hang or a crash),
# and once it is back the shim recovers without a restart.  Runs last.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ShimTest;

my $stop  = $ENV{METASTORE_TEST_PG_STOP}  or plan skip_all => 'METASTORE_TEST_PG_STOP not set';
my $start = $ENV{METASTORE_TEST_PG_START} or plan skip_all => 'METASTORE_TEST_PG_START not set';
my $key = principal_key(uniq('restart'), ['restart', 'writer']);

# warm every pooled connection
is(req(PUT => "/records/k$_?namespace=restart", key => $key, body => { metadata => $_ })->{status}, 201,
   "write $_ before the restart") for 1 .. 4;

is(system($stop), 0, 'database stopped');
my @down = map { req(GET => '/records/k1?namespace=restart', key => $key) } 1 .. 5;
is_deeply([map { $_->{status} } @down], [(503) x 5], 'requests while it is down: 503');
is($down[0]{body}{code}, 'MS503', 'with code MS503');
is(req(GET => '/health/ready')->{status}, 503, '/health/ready: 503');
is(req(GET => '/health/live')->{status}, 200, '/health/live stays 200 (the shim itself is fine)');

is(system($start), 0, 'database started again');
my $ok = 0;
for (1 .. 50) {
    if (req(GET => '/health/ready')->{status} == 200) { $ok = 1; last }
    select(undef, undef, undef, 0.2);
}
ok($ok, '/health/ready recovers without restarting the shim');
my @up = map { req(GET => "/records/k$_?namespace=restart", key => $key)->{status} } 1 .. 4;
is_deeply(\@up, [200, 200, 200, 200], 'every pooled connection works again');
done_testing();
