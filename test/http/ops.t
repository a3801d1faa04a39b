#!/usr/bin/env perl
# Operations endpoints: health, readiness, metrics, OpenAPI, request ids, OPTIONS.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ShimTest;

my $res = req(GET => '/health');
is($res->{status}, 200, '/health: 200');
is($res->{body}{status}, 'ok', '/health says ok');
is(req(GET => '/health/live')->{status}, 200, '/health/live: 200');
$res = req(GET => '/health/ready');
is($res->{status}, 200, '/health/ready: 200 with the database up and the extension installed');
my $version = psql(q{SELECT extversion FROM pg_extension WHERE extname = 'metastore'});
is($res->{body}{extension_version}, $version, '/health/ready reports the installed extension version');

$res = req(GET => '/health', headers => { 'x-request-id' => 'trace-abc.123' });
is($res->{headers}{'x-request-id'}, 'trace-abc.123', 'a well-formed incoming X-Request-Id is kept');
$res = req(GET => '/health', headers => { 'x-request-id' => 'bad id with spaces' });
like($res->{headers}{'x-request-id'}, qr/^[A-Za-z0-9._-]+$/, 'a malformed one is replaced');
isnt($res->{headers}{'x-request-id'}, 'bad id with spaces', '... by a generated id');

$res = req(GET => '/openapi.json');
is($res->{status}, 200, '/openapi.json: 200 without a key');
is($res->{body}{openapi}, '3.1.0', 'it is OpenAPI 3.1');
my $routes = psql('SELECT count(*) FROM metastore.http_routes');
my $ops = 0;
$ops += scalar keys %{ $res->{body}{paths}{$_} } for keys %{ $res->{body}{paths} };
is($ops, $routes, 'one operation per route of metastore.http_routes');
ok($res->{body}{paths}{'/records/{key}'}{put}, 'PUT /records/{key} is documented');

$res = req(OPTIONS => '/records/anything');
is($res->{status}, 204, 'OPTIONS: 204');
like($res->{headers}{allow}, qr/\bPUT\b.*\bGET\b|\bGET\b.*\bPUT\b/, 'OPTIONS lists the methods');

# metrics: Prometheus text, counters move with traffic
req(GET => '/no/such/thing') for 1 .. 3;
$res = req(GET => '/metrics');
is($res->{status}, 200, '/metrics: 200');
like($res->{headers}{'content-type'}, qr{^text/plain}, 'Prometheus text format');
my $m = $res->{raw};
like($m, qr/^# TYPE metastore_http_requests_total counter$/m, 'request counter declared');
like($m, qr/^metastore_http_requests_total\{[^}]*status="404"[^}]*\} [1-9]\d*$/m, '404s are counted');
like($m, qr/^# TYPE metastore_http_request_duration_seconds histogram$/m, 'latency histogram declared');
like($m, qr/^metastore_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"\} \d+$/m, 'histogram has +Inf bucket');
like($m, qr/^metastore_pool_connections\{state="idle"\} \d+$/m, 'pool gauges');
my ($before) = $m =~ /^metastore_http_requests_total\{[^}]*route="other"[^}]*status="404"[^}]*\} (\d+)$/m;
req(GET => '/no/such/thing');
my ($after) = req(GET => '/metrics')->{raw} =~ /^metastore_http_requests_total\{[^}]*route="other"[^}]*status="404"[^}]*\} (\d+)$/m;
is(($after // 0) - ($before // 0), 1, 'one more 404 request, counter + 1');

# route labels come from the extension's route table (read by the shim at start)
req(GET => '/records/some-key');
req(POST => '/records/bulk', body => []);
$m = req(GET => '/metrics')->{raw};
like($m, qr/^metastore_http_requests_total\{route="\/records\/\{key\}",method="GET",[^}]*\} \d+$/m,
     'a records request is labelled with its route pattern from metastore.http_routes');
like($m, qr/^metastore_http_requests_total\{route="\/records\/bulk",method="POST",[^}]*\} \d+$/m,
     'the most specific pattern wins (/records/bulk, not /records/{key})');

done_testing();
