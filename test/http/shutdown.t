#!/usr/bin/env perl
# Graceful shutdown: a second shim instance gets SIGTERM while a request is in
# flight; the request still completes, and the shim exits 0.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use IO::Select;
use POSIX ':sys_wait_h';
use ShimTest;

my $bin = $ENV{METASTORE_SHIM_BIN} or die "METASTORE_SHIM_BIN is not set\n";
my $url = $ENV{METASTORE_SHIM_DATABASE_URL} or die "METASTORE_SHIM_DATABASE_URL is not set\n";
my $key = principal_key(uniq('shutdown'), ['shutdown', 'writer']);
my $port = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0')->sockport;

my $pid = fork // die "fork: $!";
if ($pid == 0) {
    open STDOUT, '>', '/dev/null'; open STDERR, '>', '/dev/null';
    exec $bin, '--port', $port, '--database-url', $url, '--pool-size', 2 or exit 99;
}
my $up = 0;
for (1 .. 100) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1);
    if ($s) { close $s; $up = 1; last }
    select(undef, undef, undef, 0.1);
}
ok($up, 'second shim instance is listening');

# start a request: headers and half the body, then SIGTERM, then the rest
my $body = '{"metadata": {"in": "flight"}}';
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 5) or die "connect: $!";
$s->autoflush(1);
print $s "PUT /records/inflight?namespace=shutdown HTTP/1.1\r\nHost: x\r\nAuthorization: ApiKey $key\r\n"
       . "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n\r\n"
       . substr($body, 0, 10);
select(undef, undef, undef, 0.3);
kill 'TERM', $pid;
select(undef, undef, undef, 0.3);
print $s substr($body, 10);
my $resp = '';
while (IO::Select->new($s)->can_read(10)) {
    my $n = sysread($s, my $buf, 4096);
    last unless $n;
    $resp .= $buf;
    last if $resp =~ /\r\n\r\n/ && $resp =~ /Content-Length: (\d+)/i && length($resp) >= index($resp, "\r\n\r\n") + 4 + $1;
}
like($resp, qr{^HTTP/1\.1 20[01] }, 'the in-flight request completed after SIGTERM');
is(psql(q{SELECT metadata->>'in' FROM metastore.records WHERE namespace = 'shutdown' AND key = 'inflight'}),
   'flight', 'and its write committed');

my $waited = 0;
while (waitpid($pid, WNOHANG) == 0 && $waited < 150) { select(undef, undef, undef, 0.1); $waited++ }
my $status = $?;
ok($waited < 150, 'the shim exited within its shutdown timeout');
is($status >> 8, 0, 'with exit status 0');
ok(!IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1),
   'and no longer accepts connections');
done_testing();
