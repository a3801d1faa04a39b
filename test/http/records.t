#!/usr/bin/env perl
# The records routes through the real shim: every route's happy path and its
# error statuses, authentication, limits, content types, routing, and
# concurrent If-Match writers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ShimTest;

my $ns = uniq('http');
my $w  = principal_key(uniq('writer'), [$ns, 'writer']);
my $r  = principal_key(uniq('reader'), [$ns, 'reader']);
my $q  = "?namespace=$ns";

# --- authentication
my $res = req(GET => "/records/k$q");
is($res->{status}, 401, 'no key: 401');
like($res->{headers}{'www-authenticate'} // '', qr/ApiKey/, '401 names the scheme');
is($res->{body}{code}, '28000', '401 body carries SQLSTATE 28000');
is(req(GET => "/records/k$q", key => 'ms_000000000000_' . ('A' x 43))->{status}, 401, 'unknown key: 401');
is(req(GET => "/records/k$q", headers => { authorization => "Bearer $r" })->{status}, 404, 'Bearer key accepted');
is(req(GET => "/records/k$q", headers => { 'x-api-key' => $r })->{status}, 404, 'X-API-Key accepted');
is(req(GET => "/records/k?namespace=elsewhere", key => $w)->{status}, 403, 'foreign namespace: 403');
is(req(GET => "/records/k$q", key => $r, headers => { 'x-namespace' => 'elsewhere' })->{status}, 404,
   '?namespace= wins over X-Namespace');
is(req(GET => "/records/k", key => $r, headers => { 'x-namespace' => $ns })->{status}, 404,
   'X-Namespace selects the namespace');

# --- create (POST /records): 201, then idempotent 200, then 409
my $doc = { key => 'svc/a b', metadata => { size => 10 }, tags => ['db'] };
$res = req(POST => "/records$q", key => $w, body => $doc);
is($res->{status}, 201, 'POST /records creates: 201');
is($res->{headers}{etag}, '"1"', 'ETag is the version');
is($res->{headers}{location}, "/records/svc%2Fa%20b?namespace=$ns", 'Location names the new record');
is($res->{body}{created_by}, $res->{body}{updated_by}, 'audit columns set');
like($res->{headers}{'x-request-id'} // '', qr/^[A-Za-z0-9._-]+$/, 'every response has X-Request-Id');
is(req(POST => "/records$q", key => $w, body => $doc)->{status}, 200, 'same create again: 200 (idempotent)');
$res = req(POST => "/records$q", key => $w, body => { %$doc, metadata => { size => 11 } });
is($res->{status}, 409, 'create with different content: 409');
is($res->{body}{code}, 'MS409', '409 body carries MS409');
ok(exists $res->{body}{hint} && exists $res->{body}{details}, 'error body has code/message/details/hint');
is(req(POST => "/records$q", key => $r, body => { key => 'x', metadata => 1 })->{status}, 403, 'reader cannot create: 403');

# --- read
$res = req(GET => "/records/svc%2Fa%20b$q", key => $r);
is($res->{status}, 200, 'GET: 200');
is_deeply($res->{body}{metadata}, { size => 10 }, 'GET returns the document');
is($res->{headers}{etag}, '"1"', 'GET has the ETag');
is(req(GET => "/records/svc%2Fa%20b$q", key => $r, headers => { 'if-none-match' => '"1"' })->{status}, 304,
   'If-None-Match with the current ETag: 304');
$res = req(HEAD => "/records/svc%2Fa%20b$q", key => $r);
is($res->{status}, 200, 'HEAD: 200');
is($res->{raw} // '', '', 'HEAD has no body');
is(req(GET => "/records/missing$q", key => $r)->{status}, 404, 'GET missing: 404');

# --- optimistic writes
$res = req(PUT => "/records/svc%2Fa%20b$q", key => $w, body => { metadata => { size => 20 }, tags => ['db'] },
           headers => { 'if-match' => '"9"' });
is($res->{status}, 412, 'PUT with a stale If-Match: 412');
$res = req(PUT => "/records/svc%2Fa%20b$q", key => $w, body => { metadata => { size => 20 }, tags => ['db'] },
           headers => { 'if-match' => '"1"' });
is($res->{status}, 200, 'PUT with the current If-Match: 200');
is($res->{headers}{etag}, '"2"', 'the new ETag');
is(req(PUT => "/records/svc%2Fa%20b$q", key => $w, body => { metadata => 1 },
       headers => { 'if-none-match' => '*' })->{status}, 412, 'If-None-Match: * on an existing key: 412');
$res = req(PUT => "/records/new-one$q", key => $w, body => { metadata => 1 }, headers => { 'if-none-match' => '*' });
is($res->{status}, 201, 'If-None-Match: * on a new key: 201');
ok($res->{headers}{location}, 'PUT that creates has a Location');
is(req(PUT => "/records/new-one$q", key => $w, body => { metadata => 2 })->{status}, 200,
   'unconditional PUT: 200');
is(req(PUT => "/records/x$q", key => $w, body => { metadata => 1 }, headers => { 'if-match' => 'soon' })->{status},
   400, 'malformed If-Match: 400');

# --- bad bodies, content types, limits
is(req(PUT => "/records/x$q", key => $w, body => '{"metadata": ')->{status}, 400, 'malformed JSON: 400');
is(req(PUT => "/records/x$q", key => $w, body => '{"metadata": 1}', type => 'text/plain')->{status}, 415,
   'non-JSON content type: 415');
is(req(PUT => "/records/x$q", key => $w, body => '{"metadata": 1}', type => 'application/json; charset=utf-8')->{status},
   201, 'application/json with charset is accepted');
is(req(PUT => "/records/x$q", key => $w, body => { metadata => 1, bogus => 1 })->{status}, 422, 'unknown field: 422');
is(req(PUT => "/records/x$q", key => $w, body => { tags => ['a'] })->{status}, 422, 'missing metadata: 422');
is(req(PUT => "/records/x$q", key => $w, body => "{\"metadata\": \"\xff\xfe\"}")->{status}, 400, 'invalid UTF-8: 400');
$res = req(PUT => "/records/big$q", key => $w, body => '{"metadata": "' . ('x' x (1024 * 1024 + 10)) . '"}');
is($res->{status}, 413, 'body over 1 MiB: 413');
is(req(PUT => "/records/deep$q", key => $w, body => '{"metadata": ' . ('[' x 100) . (']' x 100) . '}')->{status},
   413, 'document nested too deeply: 413');

# --- history, rollback, delete
$res = req(GET => "/records/svc%2Fa%20b/history$q", key => $r);
is($res->{status}, 200, 'history: 200');
is_deeply([map { $_->{operation} } @{ $res->{body}{items} }], ['create', 'update'], 'history lists every version');
$res = req(POST => "/records/svc%2Fa%20b/rollback/1$q", key => $w);
is($res->{status}, 200, 'rollback: 200');
is_deeply($res->{body}{metadata}, { size => 10 }, 'rollback restored version 1 content');
is($res->{body}{version}, 3, 'as a new version');
is(req(POST => "/records/svc%2Fa%20b/rollback/99$q", key => $w)->{status}, 404, 'rollback to a missing version: 404');
is(req(POST => "/records/svc%2Fa%20b/rollback/x$q", key => $w)->{status}, 400, 'rollback to a non-number: 400');
is(req(DELETE => "/records/svc%2Fa%20b$q", key => $w, headers => { 'if-match' => '"1"' })->{status}, 412,
   'DELETE with a stale If-Match: 412');
is(req(DELETE => "/records/svc%2Fa%20b$q", key => $r)->{status}, 403, 'reader cannot delete: 403');
is(req(DELETE => "/records/svc%2Fa%20b$q", key => $w)->{status}, 204, 'DELETE: 204');
is(req(GET => "/records/svc%2Fa%20b$q", key => $r)->{status}, 404, 'deleted record: 404');
is(req(DELETE => "/records/svc%2Fa%20b$q", key => $w)->{status}, 404, 'DELETE again: 404');

# --- bulk
$res = req(POST => "/records/bulk$q", key => $w, body => { operations => [
    { op => 'put', key => 'b1', metadata => 1 }, { op => 'put', key => 'b2', metadata => 2 } ] });
is($res->{status}, 200, 'bulk: 200');
is(scalar @{ $res->{body}{results} }, 2, 'one result per operation');
$res = req(POST => "/records/bulk$q", key => $w, body => [
    { op => 'put', key => 'b3', metadata => 3 }, { op => 'put', key => 'b1', metadata => 9, expected_version => 7 } ]);
is($res->{status}, 409, 'bulk with a conflicting operation: 409');
like($res->{body}{message}, qr/^bulk operation 1 /, 'the error names the failing operation');
is(req(GET => "/records/b3$q", key => $r)->{status}, 404, 'nothing of a failed bulk is applied');

# --- routing
$res = req(PATCH => "/records/b1$q", key => $w, body => {});
is($res->{status}, 405, 'unsupported method: 405');
like($res->{headers}{allow} // '', qr/GET/, '405 lists the allowed methods');
is(req(GET => '/no/such/route', key => $w)->{status}, 404, 'unknown route: 404');
is(req(GET => '/records/%zz', key => $w)->{status}, 400, 'malformed percent-encoding: 400');

# --- seed 000 metadata routes over the same store
$res = req(POST => '/api/v1/metadata', key => $w,
           body => { key => 'app.pool', namespace => $ns, value => 10, tags => ['db'] });
is($res->{status}, 201, 'POST /api/v1/metadata: 201');
my $id = $res->{body}{id};
is(req(GET => "/api/v1/metadata/$id", key => $r)->{body}{value}, 10, 'GET /api/v1/metadata/{id}');
is(req(GET => "/api/v1/metadata/key/app.pool$q", key => $r)->{body}{id}, $id, 'GET /api/v1/metadata/key/{key}');
$res = req(PUT => "/api/v1/metadata/$id", key => $w, body => { value => 12 });
is($res->{status}, 200, 'PUT /api/v1/metadata/{id}: 200');
is_deeply($res->{body}{tags}, ['db'], 'fields not given are kept');
is(scalar @{ req(GET => "/api/v1/metadata/$id/versions", key => $r)->{body}{items} }, 2, 'versions');
is(req(POST => "/api/v1/metadata/$id/rollback/1", key => $w)->{body}{value}, 10, 'rollback by id');
is(req(DELETE => "/api/v1/metadata/$id", key => $w)->{status}, 204, 'DELETE by id');
my $other = principal_key(uniq('outsider'), [uniq('ns'), 'writer']);
is(req(GET => "/api/v1/metadata/$id", key => $other)->{status}, 404, 'ids of other namespaces are not found (no 403 oracle)');

# --- concurrent If-Match writers: exactly one wins
req(PUT => "/records/race$q", key => $w, body => { metadata => 0 });
my $etag = req(GET => "/records/race$q", key => $r)->{headers}{etag};
my @kids;
for my $i (1 .. 8) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $s = req(PUT => "/records/race$q", key => $w, body => { metadata => $i }, headers => { 'if-match' => $etag })->{status};
        exit($s == 200 ? 0 : $s == 412 ? 1 : 2);
    }
    push @kids, $pid;
}
my %codes;
for (@kids) { waitpid($_, 0); $codes{ $? >> 8 }++ }
is($codes{0} // 0, 1, 'exactly one concurrent If-Match writer gets 200');
is($codes{1} // 0, 7, 'the other seven get 412');
is(req(GET => "/records/race$q", key => $r)->{body}{version}, 2, 'no lost update: one new version');

done_testing();
