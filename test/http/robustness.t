#!/usr/bin/env perl
# Thousands of malformed, truncated and oversized requests and abruptly closed
# connections; afterwards the shim still answers correctly and is still alive.
# Bounded: every socket operation has a short timeout; loopback only.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use IO::Select;
use ShimTest;

my ($host, $port) = $ENV{METASTORE_URL} =~ m{^http://([^:/]+):(\d+)} or die "bad METASTORE_URL";
my $rounds = $ENV{ROBUSTNESS_ROUNDS} // 2000;
my $key = principal_key(uniq('robust'), ['robust', 'writer']);

# send bytes, maybe read a little, close (half the time without reading)
sub poke {
    my ($bytes, $read) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Timeout => 2) or return 0;
    $s->autoflush(1);
    local $SIG{PIPE} = 'IGNORE';
    syswrite($s, $bytes) if length $bytes;
    if ($read && IO::Select->new($s)->can_read(1)) { my $buf; sysread($s, $buf, 4096) }
    close $s;
    return 1;
}

# [bytes, complete]: a complete request gets an answer at once, so read it;
# after a truncated one the server rightly waits for more, so just hang up.
my @cases = (
    sub { ["\x00\xff garbage \x01\x02\r\n\r\n", 0] },          # no request line: no answer owed
    sub { ["GET / HTTP/1.1\r\n", 0] },                              # truncated headers
    sub { ["GET /records/x HTTP/1.1\r\nHost: x\r\nX-Big: " . ('a' x 70000) . "\r\n\r\n", 1] },
    sub { ["PUT /records/x?namespace=robust HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"meta", 0] },
    sub { ["PUT /records/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{", 1] },
    sub { ["POST /records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n", 1] },
    sub { ["POST /records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nfffff\r\n" . ('x' x 2000), 0] },
    sub { ["GE\tT /%%%% HTTP/1.1\r\n\r\n", 1] },
    sub { ["GET /records/" . ('%2F' x 3000) . " HTTP/1.1\r\nHost: x\r\n\r\n", 1] },
    sub { ["GET /health HTTP/9.9\r\nHost: x\r\n\r\n", 1] },
    sub { my $b = "{\"metadata\":\"\xff\xfe\"}";                     # not UTF-8
          ["PUT /records/u?namespace=robust HTTP/1.1\r\nHost: x\r\nAuthorization: ApiKey $key\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\n\r\n$b", 1] },
    sub { [join('', map { chr(int(rand(256))) } 1 .. 1 + int(rand(600))), 0] },
    sub { ["", 0] },                                                  # connect and close
);

my $sent = 0;
for my $i (1 .. $rounds) {
    my ($bytes, $complete) = @{ $cases[$i % @cases]->() };
    # read the answer to every other complete request; drop the rest mid-way
    $sent += poke($bytes, $complete && $i % 2);
}
cmp_ok($sent, '>=', $rounds * 0.99, "sent $rounds malformed or truncated requests");

# and it still answers correctly
is(req(GET => '/health')->{status}, 200, 'still healthy');
is(req(GET => '/health/ready')->{status}, 200, 'still ready');
my $res = req(PUT => '/records/after?namespace=robust', key => $key, body => { metadata => { ok => 1 } });
ok($res->{status} == 200 || $res->{status} == 201, 'still serves writes');
is_deeply(req(GET => '/records/after?namespace=robust', key => $key)->{body}{metadata}, { ok => 1 }, 'and reads');
if ($ENV{METASTORE_SHIM_PID}) {
    ok(kill(0, $ENV{METASTORE_SHIM_PID}), 'the shim process is still alive');
}
done_testing();
