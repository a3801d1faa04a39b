#!/usr/bin/env perl
# GET /api/v1/events/stream, the shim's Server-Sent Events stream of
# metastore.events (http-shim/sse.c), read with a raw HTTP/1.1 client that
# decodes the chunked body as it arrives: changes made through REST and psql
# arrive as `id:` / `event:` / `data:` messages within seconds; a stream sees
# only the namespaces its key may read; a rolled-back change produces
# nothing; Last-Event-ID and ?after= resume without gaps or duplicates (the
# ids equal what GET /api/v1/events returns); ?types= filters; a missing or
# bad key, a bad ?after= and an unknown parameter are JSON errors, not
# streams; a closed client frees the stream and its database connection.
# A second shim instance (heartbeat 300 ms, one stream at most) then shows
# the heartbeat, the 503 beyond --sse-max-streams, a revoked key and a killed
# database connection ending the stream, and SIGTERM ending an open stream at
# once with exit status 0 and no sanitizer report in its log.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use IO::Select;
use JSON::PP;
use HTTP::Tiny;
use File::Temp qw(tempfile);
use POSIX ':sys_wait_h';
use Time::HiRes qw(time sleep);
use ShimTest;

my ($main_port) = $ENV{METASTORE_URL} =~ m{:(\d+)/*$} or die "METASTORE_URL has no port\n";
my $db = $ENV{METASTORE_TEST_DB};
my $S  = '/api/v1/events/stream';
my $F  = '/api/v1/feature-flags';
my $json = JSON::PP->new;

my $ns    = uniq('ev');
my $other = uniq('ev-other');
my $w = principal_key(uniq('evwriter'), [$ns, 'writer']);
my $o = principal_key(uniq('evoutsider'), [$other, 'writer']);

# a flag name no other test uses (names are global); [A-Za-z0-9._-] only
sub fname { my $n = uniq(shift); $n =~ s/[^A-Za-z0-9._-]/-/g; return $n }

# ---- a raw SSE client ----

# Open a stream: GET with the given key and headers; returns the stream state
# with {status, headers} parsed and the rest of the bytes kept for reading.
sub stream_open {
    my (%a) = @_;
    my $port = $a{port} // $main_port;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 5)
      or die "connect: $!";
    my $req = "GET " . ($a{path} // $S) . " HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n";
    $req .= "Authorization: ApiKey $a{key}\r\n" if defined $a{key};
    $req .= "$_: $a{headers}{$_}\r\n" for sort keys %{ $a{headers} // {} };
    syswrite($sock, "$req\r\n");
    my $st = { sock => $sock, raw => '', body => '', events => [], comments => [], ended => 0, eof => 0 };
    my $deadline = time + 10;
    while ($st->{raw} !~ /\r\n\r\n/ && time < $deadline) {
        last unless read_more($st, $deadline - time);
    }
    my $end = index($st->{raw}, "\r\n\r\n");
    return $st if $end < 0;
    my ($line, @h) = split /\r\n/, substr($st->{raw}, 0, $end);
    ($st->{status}) = $line =~ m{^HTTP/1\.1 (\d+)};
    $st->{headers} = { map { my ($k, $v) = split /:\s*/, $_, 2; (lc $k => $v) } @h };
    substr($st->{raw}, 0, $end + 4) = '';
    decode($st) if defined $st->{status} && $st->{status} == 200;
    return $st;
}

# One read from the socket (up to timeout seconds); false on timeout or EOF.
sub read_more {
    my ($st, $timeout) = @_;
    return 0 if $st->{eof};
    return 0 unless IO::Select->new($st->{sock})->can_read($timeout > 0 ? $timeout : 0);
    my $n = sysread($st->{sock}, my $buf, 65536);
    if (!$n) { $st->{eof} = 1; return 0 }
    $st->{raw} .= $buf;
    decode($st) if defined $st->{status} && $st->{status} == 200;
    return 1;
}

# Chunked transfer coding -> body text -> SSE messages (events and comments).
sub decode {
    my $st = shift;
    while ($st->{raw} =~ /\A([0-9a-fA-F]+)\r\n/) {
        my ($len, $hl) = (hex $1, length($1) + 2);
        if ($len == 0) { $st->{ended} = 1; $st->{raw} = ''; last }
        last if length($st->{raw}) < $hl + $len + 2;
        $st->{body} .= substr($st->{raw}, $hl, $len);
        substr($st->{raw}, 0, $hl + $len + 2) = '';
    }
    while ($st->{body} =~ s/\A(.*?)\n\n//s) {
        my %m;
        my $raw = $1;
        for my $l (split /\n/, $raw) {
            if ($l =~ /^:\s?(.*)$/) { push @{ $st->{comments} }, $1; next }
            my ($k, $v) = $l =~ /^([^:]+):\s?(.*)$/ or next;
            $m{$k} = exists $m{$k} && $k eq 'data' ? "$m{$k}\n$v" : $v;
        }
        next unless exists $m{data};
        $m{raw} = $raw;
        $m{json} = eval { $json->decode($m{data}) };
        push @{ $st->{events} }, \%m;
    }
}

# Read until n events are queued (or the stream ended, or timeout); returns and removes them.
sub take_events {
    my ($st, $n, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while (@{ $st->{events} } < $n && !$st->{ended} && time < $deadline) {
        read_more($st, $deadline - time);
    }
    return splice(@{ $st->{events} }, 0, $n < @{ $st->{events} } ? $n : scalar @{ $st->{events} });
}

# Whatever else arrives within `secs` seconds (nothing, we hope).
sub quiet_for {
    my ($st, $secs) = @_;
    my $deadline = time + $secs;
    read_more($st, $deadline - time) while !$st->{ended} && !$st->{eof} && time < $deadline;
    return splice(@{ $st->{events} });
}

# Wait for the end of the chunked body or of the connection.
sub wait_end {
    my ($st, $timeout) = @_;
    my $deadline = time + $timeout;
    read_more($st, $deadline - time) while !$st->{ended} && !$st->{eof} && time < $deadline;
    return $st->{ended} || $st->{eof};
}

sub ids { return join ',', map { $_->{id} // 'none' } @_ }

# ---- a change of each kind ----

sub create_flag {
    my ($key, $space, $name) = @_;
    my $res = req(POST => $F, key => $key, headers => { 'x-namespace' => $space },
                  body => { name => $name, enabled => JSON::PP::true });
    die "flag create: $res->{status} $res->{raw}\n" unless $res->{status} == 201;
}
sub put_record {
    my ($key, $space, $k) = @_;
    my $res = req(PUT => "/records/$k?namespace=$space", key => $key, body => { metadata => { k => $k } });
    die "record put: $res->{status} $res->{raw}\n" unless $res->{status} =~ /^20[01]$/;
}

# the gauge of open streams in /metrics
sub open_streams {
    my $port = shift // $main_port;
    my $m = HTTP::Tiny->new(timeout => 5)->get("http://127.0.0.1:$port/metrics")->{content} // '';
    return $m =~ /^metastore_sse_streams (\d+)$/m ? $1 : 'missing';
}
sub until_ok {
    my ($secs, $check) = @_;
    my $deadline = time + $secs;
    until ($check->()) { return 0 if time > $deadline; sleep 0.05 }
    return 1;
}

# ======================================================================
# Refusals are ordinary JSON responses from the database, not streams
# ======================================================================
for my $case (['no key', undef], ['a bad key', 'ms_000000000000_nope']) {
    my $res = req(GET => $S, defined $case->[1] ? (key => $case->[1]) : ());
    is($res->{status}, 401, "$case->[0]: 401");
    like($res->{headers}{'content-type'}, qr{^application/json}, "$case->[0]: a JSON error, not a stream");
    ok($res->{body} && $res->{body}{code}, "$case->[0]: with an error code")
      or diag $res->{raw};
}
for my $q ('after=abc', 'bogus=1') {
    my $res = req(GET => "$S?$q", key => $w);
    my $list = req(GET => "/api/v1/events?$q", key => $w);
    like($res->{status}, qr/^4\d\d$/, "?$q: $res->{status}");
    is($res->{raw}, $list->{raw}, "?$q: the list route's own error body");
    like($res->{headers}{'content-type'}, qr{^application/json}, "?$q: JSON, not a stream");
}
is(req(HEAD => $S, key => $w)->{status} =~ /^(404|405)$/ ? 'refused' : 'served', 'refused',
   'HEAD is not a stream');

# ======================================================================
# Live: REST and psql changes arrive; only readable namespaces; no rollback
# ======================================================================
put_record($w, $ns, 'before');    # committed before the stream: not sent without after
my $latest = req(GET => '/api/v1/events/latest', key => $w)->{body}{last_id};
my $a  = stream_open(key => $w);
my $ob = stream_open(key => $o);
is($a->{status}, 200, 'stream: 200');
is($a->{headers}{'content-type'}, 'text/event-stream', 'Content-Type: text/event-stream');
is($a->{headers}{'cache-control'}, 'no-cache', 'Cache-Control: no-cache');
is($a->{headers}{'x-accel-buffering'}, 'no', 'X-Accel-Buffering: no');
is(lc($a->{headers}{'transfer-encoding'} // ''), 'chunked', 'chunked');
like($a->{headers}{'x-request-id'} // '', qr/^\S+$/, 'with an X-Request-Id');
is($ob->{status}, 200, "the outsider's stream: 200");
ok(until_ok(5, sub { read_more($a, 0.1); grep { $_ eq 'connected' } @{ $a->{comments} } }),
   'the stream opens with a comment');
is(open_streams(), 2, 'metastore_sse_streams counts both streams');

my $flag = fname('evflag');
my $t0 = time;
create_flag($w, $ns, $flag);
put_record($w, $ns, 'rec1');
my @got = take_events($a, 2, 5);
is(scalar @got, 2, 'a flag and a record change arrive') or diag explain \@got;
ok(time - $t0 < 5, sprintf('within %.1f s', time - $t0));
my ($ef, $er) = @got;
is($ef->{event}, 'flag', 'event: flag');
is($ef->{json}{resource_type}, 'flag', 'data.resource_type');
is($ef->{json}{resource_id}, $flag, 'data.resource_id is the flag name');
is($ef->{json}{action}, 'create', 'data.action');
is($ef->{json}{namespace}, $ns, 'data.namespace');
is($ef->{id}, $ef->{json}{id}, 'the id: line is the event id');
ok($ef->{id} > $latest, 'only events committed after the stream opened (no "after" given)');
is($er->{event}, 'record', 'event: record');
is($er->{json}{resource_id}, 'rec1', 'data.resource_id is the record key');
ok($er->{id} > $ef->{id}, 'in id order');
unlike($ef->{data}, qr/[\r\n]/, 'data is one line');
is_deeply([sort keys %{ $ef->{json} }],
          [sort qw(id action resource_type resource_id namespace data timestamp environment actor)],
          'data is the event as GET /api/v1/events returns it');
my $list = req(GET => "/api/v1/events?after=$latest", key => $w)->{body}{events};
is_deeply($ef->{json}, $list->[0], 'byte for byte the same event as the list route');

# a rolled-back change produces nothing; a committed marker afterwards does
psql(qq{BEGIN; SELECT metastore.put_record('$ns', 'rolled-back', '{"x": 1}'); ROLLBACK;});
put_record($w, $ns, 'marker');
my ($m) = take_events($a, 1, 5);
is($m && $m->{json}{resource_id}, 'marker', 'a rolled-back change sends nothing: the next event is the marker');
is(psql(qq{SELECT count(*) FROM metastore.events WHERE namespace = '$ns' AND resource_id = 'rolled-back'}), 0,
   'and no event row exists for it');

# the outsider: its own namespace only
put_record($o, $other, 'theirs');
my @ogot = take_events($ob, 1, 5);
is(scalar @ogot, 1, "the outsider's stream gets its namespace's change");
is($ogot[0] && $ogot[0]{json}{namespace}, $other, 'and it is from its namespace');
is(ids(quiet_for($ob, 0.5)), '', "and nothing of $ns: no grant, no events");
is(ids(quiet_for($a, 0.5)), '', "the writer of $ns sees nothing of $other");

# ======================================================================
# Resume: Last-Event-ID and ?after= continue without gaps or duplicates
# ======================================================================
my $last_seen = $m->{id};
my $first_seen = $ef->{id};
close $a->{sock};
close $ob->{sock};
ok(until_ok(5, sub { open_streams() == 0 }), 'closing the clients frees both streams');
ok(until_ok(5, sub { psql(qq{SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'
                             AND application_name = 'metastore-http-events'}) == 0 }),
   "and their database connections");

# changes while nobody listens
put_record($w, $ns, 'while-away-1');
create_flag($w, $ns, fname('evaway'));
put_record($w, $ns, 'while-away-2');
my $want = join ',', map { $_->{id} } @{ req(GET => "/api/v1/events?after=$first_seen", key => $w)->{body}{events} };
my @want = split /,/, $want;
is(scalar @want, 5, 'the list route has 5 events after the first one seen');

my $b = stream_open(key => $w, headers => { 'Last-Event-ID' => $first_seen });
is($b->{status}, 200, 'Last-Event-ID: 200');
is(ids(take_events($b, 5, 5)), $want, 'Last-Event-ID resumes right after it: the same ids as the list route');
is(ids(quiet_for($b, 0.5)), '', 'no duplicates after them');
put_record($w, $ns, 'after-resume');
my ($n1) = take_events($b, 1, 5);
ok($n1 && $n1->{id} > $want[-1] && $n1->{json}{resource_id} eq 'after-resume', 'and goes on live');
close $b->{sock};

my $c = stream_open(key => $w, path => "$S?after=$last_seen");
is(ids(take_events($c, 4, 5)), join(',', grep { $_ > $last_seen } @want, $n1->{id}),
   '?after= resumes the same way');
close $c->{sock};

my $d = stream_open(key => $w, path => "$S?after=0", headers => { 'Last-Event-ID' => $last_seen });
my ($d1) = take_events($d, 1, 5);
is($d1 && $d1->{id}, (grep { $_ > $last_seen } @want)[0], 'Last-Event-ID wins over ?after=');
close $d->{sock};

my $t = stream_open(key => $w, path => "$S?types=flag&after=$first_seen");
my @flags = take_events($t, 1, 5);
is(ids(@flags), (map { $_->{id} } grep { $_->{resource_type} eq 'flag' }
                 @{ req(GET => "/api/v1/events?after=$first_seen&types=flag", key => $w)->{body}{events} })[0] // '',
   '?types=flag: only flags');
put_record($w, $ns, 'not-a-flag');
my $nf = fname('evtyped');
create_flag($w, $ns, $nf);
my ($tf) = take_events($t, 1, 5);
is($tf && $tf->{json}{resource_id}, $nf, '?types=flag skips the record, sends the flag');
close $t->{sock};
ok(until_ok(5, sub { open_streams() == 0 }), 'every stream closed again');

# ======================================================================
# Many at once: a catch-up longer than one page (1000), and live streams
# while several writers commit concurrently: every stream gets every id
# exactly once, in order
# ======================================================================
my $bulk = uniq('ev-bulk');
my $bk = principal_key(uniq('evbulk'), [$bulk, 'reader']);
my $before = psql(q{SELECT coalesce(max(id), 0) FROM metastore.events});
my @live = map { stream_open(key => $bk) } 1 .. 4;
is(scalar(grep { $_->{status} == 200 } @live), 4, 'four live streams open');
psql(qq{SELECT count(metastore.put_record('$bulk', 'b' || g, jsonb_build_object('g', g)))
          FROM generate_series(1, 2500) g});
my @writers;
for my $wr (1 .. 3) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        for my $i (1 .. 40) {
            system('psql', '-X', '-q', '-o', '/dev/null', '-d', $db, '-c',
                   "SELECT metastore.put_record('$bulk', 'w$wr-$i', '{}')") == 0 or exit 1;
        }
        exit 0;
    }
    push @writers, $pid;
}
my $writers_ok = 1;
for (@writers) { waitpid($_, 0); $writers_ok &&= $? == 0 }
ok($writers_ok, '3 writers committed 40 changes each, concurrently');
my $all = psql(qq{SELECT string_agg(id::text, ',' ORDER BY id) FROM metastore.events
                   WHERE namespace = '$bulk' AND id > $before});
my $nall = () = $all =~ /,/g;
is($nall + 1, 2620, '2620 events in the namespace');
for my $i (0 .. $#live) {
    is(ids(take_events($live[$i], 2620, 20)), $all, "live stream $i: every event once, in id order");
    close $live[$i]{sock};
}
my $cu = stream_open(key => $bk, path => "$S?after=$before");
is(ids(take_events($cu, 2620, 20)), $all, 'a catch-up of 2620 events (three pages): every event once, in order');
is(ids(quiet_for($cu, 0.3)), '', 'and nothing more');
close $cu->{sock};
ok(until_ok(5, sub { open_streams() == 0 }), 'every stream closed again');

# ======================================================================
# A second instance: heartbeat, stream limit, revoked key, lost database
# connection, SIGTERM with a stream open
# ======================================================================
my $bin = $ENV{METASTORE_SHIM_BIN} or die "METASTORE_SHIM_BIN is not set\n";
my $url = $ENV{METASTORE_SHIM_DATABASE_URL} or die "METASTORE_SHIM_DATABASE_URL is not set\n";
my $port = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0')->sockport;
my ($logfh, $log) = tempfile('events_stream_shim_XXXX', TMPDIR => 1, UNLINK => 1);
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', $log;
    exec $bin, '--port', $port, '--database-url', $url, '--pool-size', 2,
      '--sse-heartbeat-ms', 300, '--sse-max-streams', 1 or exit 99;
}
ok(until_ok(10, sub { my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port); $s && close $s }),
   'second shim instance (--sse-heartbeat-ms 300 --sse-max-streams 1) is listening');
my $h = HTTP::Tiny->new(timeout => 10);
my $k2 = principal_key(uniq('evrevoked'), [$ns, 'reader']);

my $e = stream_open(key => $k2, port => $port);
is($e->{status}, 200, 'a reader opens a stream');
ok(until_ok(3, sub { read_more($e, 0.1); grep { $_ eq 'keepalive' } @{ $e->{comments} } }),
   'a ": keepalive" comment within a few heartbeats');
my $full = $h->get("http://127.0.0.1:$port$S", { headers => { authorization => "ApiKey $k2" } });
is($full->{status}, 503, 'one stream more than --sse-max-streams: 503');
like($full->{content}, qr/"code":"MS503"/, 'with code MS503');
like($full->{headers}{'content-type'}, qr{^application/json}, 'as JSON');

put_record($w, $ns, 'for-reader');
my ($re) = take_events($e, 1, 5);
is($re && $re->{json}{resource_id}, 'for-reader', 'the reader gets the change');

# the database connection of the stream is killed: the stream ends, the client resumes
my $killed = psql(qq{SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                     WHERE datname = '$db' AND application_name = 'metastore-http-events'});
is($killed, 1, "the stream's own database connection is killed");
ok(wait_end($e, 5), 'the stream ends (the database connection broke)');
ok($e->{ended}, 'with the end of the chunked body, so the client reconnects');
close $e->{sock};
ok(until_ok(5, sub { open_streams($port) == 0 }), 'and its slot is free');
put_record($w, $ns, 'while-broken');
my $e2 = stream_open(key => $k2, port => $port, headers => { 'Last-Event-ID' => $re->{id} });
my ($wb) = take_events($e2, 1, 5);
is($wb && $wb->{json}{resource_id}, 'while-broken', 'reconnecting with Last-Event-ID gets what it missed');

# the key is revoked: the next heartbeat's re-check ends the stream; reconnecting gets 401
is(psql(qq{SELECT metastore.revoke_api_key('$k2')}), 't', 'revoke the key');
ok(wait_end($e2, 5), 'a revoked key ends its stream within a heartbeat or so');
close $e2->{sock};
# this shim allows one stream: wait until the ended stream's slot is free, or
# the reconnect would be refused for the limit (503) before its key is checked
ok(until_ok(5, sub { open_streams($port) == 0 }), 'the revoked stream frees its slot');
is($h->get("http://127.0.0.1:$port$S", { headers => { authorization => "ApiKey $k2" } })->{status}, 401,
   'and the reconnect is refused with 401');

# SIGTERM with a stream open: it ends at once, the shim exits 0, no sanitizer report
ok(until_ok(5, sub { open_streams($port) == 0 }), 'the slot is free again');
my $f = stream_open(key => $w, port => $port);
is($f->{status}, 200, 'a stream is open');
take_events($f, 0, 0.3);
my $t1 = time;
kill 'TERM', $pid;
ok(wait_end($f, 5), 'SIGTERM ends the open stream');
ok($f->{ended}, 'cleanly: the chunked body is terminated');
my $waited = 0;
$waited += 0.05 while waitpid($pid, WNOHANG) == 0 && $waited < 8 && sleep(0.05);
my $status = $?;
ok(time - $t1 < 5, sprintf('the shim exited %.1f s after SIGTERM, well within its shutdown timeout', time - $t1));
is($status >> 8, 0, 'with exit status 0');
close $f->{sock};
open my $lf, '<', $log or die "$log: $!";
my $logtext = do { local $/; <$lf> };
unlike($logtext, qr/Sanitizer|runtime error:/, 'and no sanitizer report in its log');
like($logtext, qr/"msg":"event stream closed".*"reason":"shutdown"/, 'the stream logged its end: shutdown');
like($logtext, qr/"reason":"database connection lost"/, 'the killed connection was logged');
like($logtext, qr/"reason":"GET \/api\/v1\/events answered 401"/, 'the revoked key was logged');

done_testing();
