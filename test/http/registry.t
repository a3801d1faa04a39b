#!/usr/bin/env perl
# The service registry and change events through the real shim
# (sql/install/55_registry.sql, sql/install/50_events.sql): seed 001's
# registry requests replayed in order with its bodies (register, get, list
# ?status=healthy before and after a health report, healthy with `total`,
# deregister), the same through the /api/v1/services alias, several
# instances, bad bodies (422, nothing changed), authentication and access
# (401 / 403), and GET /api/v1/events showing exactly those changes, with
# increasing ids, last_id, ?types= and ?limit= paging, and its bad
# parameters.  LISTEN metastore_events is checked to carry no data.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use ShimTest;

my $ns      = uniq('reg');                # this test's namespace
my $other   = uniq('reg-other');          # a namespace only the outsider writes
my $wname   = uniq('rwriter');
my $w = principal_key($wname, [$ns, 'writer']);
my $r = principal_key(uniq('rreader'), [$ns, 'reader']);
my $o = principal_key(uniq('routsider'), [$other, 'writer']);
my $q = "?namespace=$ns";
my $R = '/api/v1/registry';
my $S = '/api/v1/services';

# the service as its writer reads it (undef body when absent)
sub service { my ($name, $base) = @_; return req(GET => ($base // $R) . "/$name$q", key => $w) }

# the rows (live or not) of a service name in this test's namespace
sub rows { return psql("SELECT count(*) FROM metastore.services WHERE namespace = '$ns' AND name = '" . shift() . "'") }

# the newest event id any principal could read (as the superuser)
sub max_event { return psql('SELECT coalesce(max(id), 0) FROM metastore.events') }

# events of this namespace as the writer sees them, after an id
sub events_after {
    my ($after, %o) = @_;
    my $res = req(GET => "/api/v1/events?after=$after" . ($o{extra} // ''), key => $o{key} // $w);
    die "GET /api/v1/events failed: $res->{status} $res->{raw}\n" unless $res->{status} == 200;
    return $res->{body};
}
sub summary { return [map { "$_->{action} $_->{resource_type} $_->{resource_id}" } @{ shift() }] }

# one unhappy request: its status, then the service is exactly as before (or still absent)
sub refused {
    my (%a) = @_;
    my $before = service($a{name}, $a{base});
    my $rows = rows($a{name});
    my $ev = max_event();
    my $res = req($a{method}, $a{path}, (defined $a{key} ? (key => $a{key}) : ()),
                  (exists $a{body} ? (body => $a{body}) : ()), (defined $a{type} ? (type => $a{type}) : ()));
    is($res->{status}, $a{status}, "$a{what}: $a{status}") or diag($res->{raw});
    my $now = service($a{name}, $a{base});
    is_deeply([$now->{status}, $now->{body}, rows($a{name}), max_event()], [$before->{status}, $before->{body}, $rows, $ev],
              "$a{what}: nothing changed (service, rows, events)") or diag($now->{raw});
    return $res;
}

my $start = max_event();

# ======================================================================
# seed 001, "Service Registry", in order
# ======================================================================
# Register Service (seed 001's body, verbatim)
my $res = req(POST => "$R/register$q", key => $w, body => <<'JSON');
{
  "service_name": "user-service",
  "service_url": "http://user-service:8080",
  "health_check_url": "http://user-service:8080/health",
  "metadata": {
    "version": "1.0.0",
    "region": "us-east-1"
  }
}
JSON
is($res->{status}, 201, 'seed 001 register: 201');
is($res->{body}{service_name}, 'user-service', 'service_name');
is($res->{body}{service_url}, 'http://user-service:8080', 'service_url');
is($res->{body}{health_check_url}, 'http://user-service:8080/health', 'health_check_url');
is_deeply($res->{body}{metadata}, { version => '1.0.0', region => 'us-east-1' }, 'metadata');
is($res->{body}{status}, 'unknown', 'a new instance is unknown');
is($res->{body}{namespace}, $ns, '?namespace= puts it there');
is($res->{body}{version}, 1, 'version 1');
is($res->{body}{ttl}, 30, 'the default ttl is 30 s');
ok(!$res->{body}{expired}, 'not expired');
my $registered = $res->{body};

$res = req(POST => "$R/register$q", key => $w, body => {
    service_name => 'user-service', service_url => 'http://user-service:8080',
    health_check_url => 'http://user-service:8080/health', metadata => { region => 'us-east-1', version => '1.0.0' } });
is($res->{status}, 200, 'registering again with the same fields: 200 (a heartbeat)');
is($res->{body}{version}, 1, '... still version 1');

# Get Service
$res = req(GET => "$R/user-service$q", key => $w);
is($res->{status}, 200, 'seed 001 get: 200');
is($res->{body}{service_name}, 'user-service', 'get: service_name');
is($res->{body}{service_url}, 'http://user-service:8080', 'get: service_url');
is($res->{body}{status}, 'unknown', 'get: status unknown');
is(scalar @{ $res->{body}{instances} // [] }, 1, 'get: one instance');
is($res->{body}{instances}[0]{id}, $registered->{id}, '... the registered one');

# List Services ?status=healthy, before the health report
$res = req(GET => "$R?status=healthy&namespace=$ns", key => $w);
is($res->{status}, 200, 'list ?status=healthy: 200');
is_deeply([$res->{body}{total}, $res->{body}{services}], [0, []], 'before any report nothing is healthy');
$res = req(GET => "$R/?status=healthy&namespace=$ns", key => $w);
is($res->{status}, 200, 'seed 001 writes the list as /api/v1/registry/?status=healthy (trailing slash): 200')
  or diag($res->{raw});
$res = req(GET => "$R?status=unknown&namespace=$ns", key => $w);
is_deeply([map { $_->{service_name} } @{ $res->{body}{services} }], ['user-service'], 'list ?status=unknown lists it');

# Update Service Health (seed 001's body, verbatim)
$res = req(PUT => "$R/health$q", key => $w, body => <<'JSON');
{
  "service_name": "user-service",
  "status": "healthy",
  "response_time": 150.5
}
JSON
is($res->{status}, 200, 'seed 001 health: 200');
is($res->{body}{status}, 'healthy', 'the instance is healthy');
is($res->{body}{response_time}, 150.5, 'response_time 150.5');
is($res->{body}{version}, 1, 'a report makes no version');

$res = req(GET => "$R?status=healthy&namespace=$ns", key => $w);
is($res->{body}{total}, 1, 'after the report, list ?status=healthy: total 1');
is($res->{body}{services}[0]{service_name}, 'user-service', '... user-service');
is($res->{body}{services}[0]{response_time}, 150.5, '... with its response time');

# Get Healthy Services (the seed's client reads services['total'])
$res = req(GET => "$R/healthy?namespace=$ns", key => $w);
is($res->{status}, 200, 'seed 001 healthy: 200');
is($res->{body}{total}, 1, 'healthy: total 1');
is_deeply([map { $_->{service_name} } @{ $res->{body}{services} }], ['user-service'], 'healthy: user-service');
$res = req(GET => "$R/healthy", key => $w);
is($res->{body}{total}, 1, 'healthy without ?namespace=: every namespace the key may read (only this one)');

$res = req(PUT => "$R/health$q", key => $w, body => { service_name => 'user-service', status => 'healthy', response_time => 140 });
is($res->{status}, 200, 'the same status again (a heartbeat): 200');
is(service('user-service')->{body}{response_time}, 140, 'the response time is updated');

# Deregister Service
is(req(DELETE => "$R/user-service$q", key => $w)->{status}, 204, 'seed 001 deregister: 204');
is(req(GET => "$R/user-service$q", key => $w)->{status}, 404, 'a deregistered service: 404');
is(req(DELETE => "$R/user-service$q", key => $w)->{status}, 404, 'deregistering again: 404');
is(req(GET => "$R/healthy?namespace=$ns", key => $w)->{body}{total}, 0, 'healthy: total 0 again');
is(req(GET => "$R$q", key => $w)->{body}{total}, 0, 'list: total 0');
is(req(PUT => "$R/health$q", key => $w, body => { service_name => 'user-service', status => 'healthy' })->{status}, 404,
   'reporting the health of a deregistered service: 404');

# ======================================================================
# the same through /api/v1/services
# ======================================================================
$res = req(POST => "$S/register$q", key => $w, body => {
    service_name => 'alias-service', service_url => 'http://alias:8080', health_check_url => 'http://alias:8080/health',
    metadata => { version => '2.0.0' } });
is($res->{status}, 201, "$S/register: 201");
is(req(POST => "$S/register$q", key => $w, body => { name => 'alias-service', url => 'http://alias:8080',
       health_check_url => 'http://alias:8080/health', metadata => { version => '2.0.0' } })->{status}, 200,
   "$S/register again with name / url spelled so: 200");
$res = req(GET => "$S/alias-service$q", key => $w);
is($res->{status}, 200, "$S/{name}: 200");
is($res->{body}{status}, 'unknown', '... unknown');
is(req(GET => "$S?status=healthy&namespace=$ns", key => $w)->{body}{total}, 0, "$S?status=healthy: total 0");
$res = req(PUT => "$S/health$q", key => $w, body => { service_name => 'alias-service', status => 'healthy', response_time => 9.25 });
is($res->{status}, 200, "$S/health: 200");
is($res->{body}{status}, 'healthy', '... healthy');
is(req(GET => "$S?status=healthy&namespace=$ns", key => $w)->{body}{total}, 1, "$S?status=healthy: total 1");
is(req(GET => "$S/healthy?namespace=$ns", key => $w)->{body}{total}, 1, "$S/healthy: total 1");
is(req(GET => "$R/alias-service$q", key => $w)->{body}{status}, 'healthy', 'the alias and /api/v1/registry are one registry');
is(req(DELETE => "$S/alias-service$q", key => $w)->{status}, 204, "DELETE $S/{name}: 204");
is(req(GET => "$S/alias-service$q", key => $w)->{status}, 404, '... then 404');
is(req(DELETE => "$S/alias-service$q", key => $w)->{status}, 404, 'DELETE again: 404');

# a flag change in the same namespace, for the events below
my $flag = uniq('reg-flag');
$flag =~ s/[^A-Za-z0-9._-]/-/g;
is(req(POST => "/api/v1/feature-flags$q", key => $w, body => { name => $flag, enabled => JSON::PP::true })->{status}, 201,
   'a flag is created in the same namespace');

# ======================================================================
# GET /api/v1/events: those changes, in order
# ======================================================================
my $ev = events_after(0);
is_deeply(summary($ev->{events}), [
    'create service user-service', 'update service user-service', 'delete service user-service',
    'create service alias-service', 'update service alias-service', 'delete service alias-service',
    "create flag $flag",
], 'events: register, healthy, deregister for each service, then the flag; heartbeats and repeated statuses are none');
my @ids = map { $_->{id} } @{ $ev->{events} };
ok(!grep({ $ids[$_] <= $ids[$_ - 1] } 1 .. $#ids), 'ids increase') or diag("@ids");
ok($ids[0] > $start, 'all of them are new');
is($ev->{last_id}, $ids[-1], 'last_id is the id of the last event');
is_deeply([sort keys %{ $ev->{events}[0] }],
          [sort qw(id action resource_type resource_id namespace data timestamp environment actor)],
          "an event has seed 001's fields plus id, namespace and actor");
is_deeply($ev->{events}[0]{data}, { name => 'user-service', namespace => $ns, version => 1,
                                    instance_id => 'http://user-service:8080', url => 'http://user-service:8080',
                                    status => 'unknown' }, "a registration's data: no metadata");
is_deeply([map { $_->{data}{status} } @{ $ev->{events} }[0 .. 2]], ['unknown', 'healthy', 'healthy'],
          'data.status follows the reported status');
is_deeply([map { $_->{data}{version} } @{ $ev->{events} }[0 .. 2]], [1, 1, 2], '... and data.version the version');
is((grep { $_->{namespace} ne $ns } @{ $ev->{events} }), 0, 'every event is in this namespace');
is((grep { $_->{actor} ne $wname } @{ $ev->{events} }), 0, "actor: the key's principal");
is((grep { defined $_->{environment} } @{ $ev->{events} }), 0, 'environment: null');
is((grep { ($_->{timestamp} // '') !~ /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d(:\d\d)?|Z)$/ } @{ $ev->{events} }), 0,
   'timestamp: ISO 8601 with a zone');
is_deeply(summary(events_after(0, key => $r)->{events}), summary($ev->{events}), 'the reader sees the same events');
is(scalar(grep { $_->{namespace} eq $ns } @{ events_after(0, key => $o)->{events} }), 0,
   'a key without a grant on the namespace sees none of them');

# ?types=, ?limit=, paging
is_deeply(summary(events_after(0, extra => '&types=service')->{events}), [@{ summary($ev->{events}) }[0 .. 5]], '?types=service');
is_deeply(summary(events_after(0, extra => '&types=flag')->{events}), ["create flag $flag"], '?types=flag');
is_deeply(summary(events_after(0, extra => '&types=flag,service')->{events}), summary($ev->{events}), '?types=flag,service');
is_deeply(events_after(0, extra => '&types=record')->{events}, [], '?types=record: none');
my $p1 = events_after(0, extra => '&limit=2');
is_deeply([map { $_->{id} } @{ $p1->{events} }], [@ids[0, 1]], '?limit=2: the first two');
is($p1->{last_id}, $ids[1], '... last_id is the second');
my $p2 = events_after($p1->{last_id}, extra => '&limit=4');
is_deeply([map { $_->{id} } @{ $p2->{events} }], [@ids[2 .. 5]], '?after=last_id&limit=4: the next four');
my $p3 = events_after($p2->{last_id}, extra => '&limit=4');
is_deeply([map { $_->{id} } @{ $p3->{events} }], [$ids[6]], '... then the last one');
my $p4 = events_after($p3->{last_id});
is_deeply([$p4->{events}, $p4->{last_id}], [[], $ids[6]], 'nothing after the last: no events, last_id stays');
$res = req(GET => '/api/v1/events/latest', key => $w);
is($res->{status}, 200, 'GET /api/v1/events/latest: 200');
is($res->{body}{last_id}, $ids[-1], '... the newest id the key may read');

# bad parameters
for my $t (['?after=0&foo=1', 'an unknown parameter'], ['?after=-1', 'a negative after'], ['?after=abc', 'after not a number'],
           ['?limit=0', 'limit 0'], ['?limit=1001', 'limit 1001'], ['?limit=x', 'limit not a number'], ['?after=1.5', 'after 1.5']) {
    $res = req(GET => "/api/v1/events$t->[0]", key => $w);
    is($res->{status}, 422, "GET /api/v1/events$t->[0] ($t->[1]): 422") or diag($res->{raw});
}
is(req(GET => '/api/v1/events?limit=1000', key => $w)->{status}, 200, '?limit=1000: 200');
is(req(GET => '/api/v1/events')->{status}, 401, 'GET /api/v1/events without a key: 401');
is(req(GET => '/api/v1/events/latest')->{status}, 401, 'GET /api/v1/events/latest without a key: 401');
# ?namespace= selects one namespace; one the key may not read is 403 (as every namespaced read)
$res = req(GET => '/api/v1/events?after=0&namespace=' . uniq('no-such-ns'), key => $w);
is($res->{status}, 403, '?namespace=<a namespace the key may not read>: 403')
  or diag("status $res->{status}: " . scalar(@{ $res->{body}{events} // [] }) . " events of namespace $ns returned");

my $last = $ids[-1];

# ======================================================================
# several instances
# ======================================================================
for my $i (1, 2) {
    is(req(POST => "$R/register$q", key => $w, body => { service_name => 'orders', service_url => "http://orders-$i:8080" })->{status},
       201, "instance $i of orders: 201");
}
$res = req(GET => "$R/orders$q", key => $w);
is_deeply([map { $_->{instance_id} } @{ $res->{body}{instances} }], ['http://orders-1:8080', 'http://orders-2:8080'],
          'two URLs: two instances, instance_id = url');
refused(what => 'health without instance_id on two instances', method => 'PUT', path => "$R/health$q", key => $w,
        body => { service_name => 'orders', status => 'healthy' }, status => 422, name => 'orders');
$res = req(PUT => "$R/health$q", key => $w, body => { service_name => 'orders', status => 'healthy', instance_id => 'http://orders-2:8080' });
is($res->{status}, 200, 'health with instance_id: 200');
$res = req(GET => "$R/orders$q", key => $w);
is_deeply([$res->{body}{status}, $res->{body}{healthy_instances}], ['healthy', 1], 'one healthy instance of two: the service is healthy');
is(req(GET => "$R?status=unknown&namespace=$ns", key => $w)->{body}{total}, 1, 'list ?status=unknown: the other instance');
is(req(DELETE => "$R/orders?namespace=$ns&instance_id=" . 'http%3A%2F%2Forders-1%3A8080', key => $w)->{status}, 204,
   'DELETE ?instance_id=: 204');
is_deeply([map { $_->{instance_id} } @{ service('orders')->{body}{instances} }], ['http://orders-2:8080'], '... one instance left');
$res = req(POST => "$R/register$q", key => $w, body => { service_name => 'orders', service_url => 'http://orders-2:8080', ttl => 120 });
is_deeply([$res->{status}, $res->{body}{version}, $res->{body}{ttl}], [200, 2, 120], 're-registering with a new ttl: 200, version 2');
$ev = events_after($last);
is_deeply(summary($ev->{events}), ['create service orders', 'create service orders', 'update service orders',
                                   'delete service orders', 'update service orders'],
          'events: two registrations, one status change, one deregistration, one new version');
is_deeply([map { $_->{data}{instance_id} } @{ $ev->{events} }],
          [map { "http://orders-$_:8080" } 1, 2, 2, 1, 2], '... each names its instance');
$last = $ev->{last_id};

# ======================================================================
# bad bodies: 422 (400 for malformed JSON), nothing changed
# ======================================================================
my $good = { service_name => 'orders', service_url => 'http://orders-2:8080', ttl => 120 };
for my $t (
    [{ service_name => 'orders' }, 'no service_url'],
    [{ service_url => 'http://orders-2:8080' }, 'no service_name'],
    [{ %$good, colour => 'red' }, 'an unknown field'],
    [{ %$good, service_name => 42 }, 'service_name a number'],
    [{ %$good, service_name => 'bad name' }, 'service_name with a space'],
    [{ %$good, service_url => 'ftp://orders-2:8080' }, 'service_url ftp://'],
    [{ %$good, service_url => 'http://user:pw@orders-2:8080' }, 'service_url with credentials'],
    [{ %$good, service_url => 'http://orders-2:8080/#top' }, 'service_url with a fragment'],
    [{ %$good, service_url => 'http://orders-2:70000' }, 'service_url with port 70000'],
    [{ %$good, service_url => 'http://orders-2/' . ('a' x 2100) }, 'service_url over 2048 bytes'],
    [{ %$good, health_check_url => 'http://orders 2/health' }, 'health_check_url with a space'],
    [{ %$good, metadata => [1, 2] }, 'metadata an array'],
    [{ %$good, metadata => 'x' }, 'metadata a string'],
    [{ %$good, ttl => '30' }, 'ttl a string'],
    [{ %$good, ttl => 0 }, 'ttl 0'],
    [{ %$good, ttl => 86401 }, 'ttl 86401'],
    [{ %$good, ttl => 1e10 }, 'ttl 1e10'],
    [{ %$good, instance_id => '' }, 'an empty instance_id'],
    [[$good], 'an array instead of an object'],
) {
    refused(what => "register with $t->[1]", method => 'POST', path => "$R/register$q", key => $w, body => $t->[0],
            status => 422, name => 'orders');
}
refused(what => 'register a new service with a bad url', method => 'POST', path => "$R/register$q", key => $w,
        body => { service_name => 'newbie', service_url => 'gopher://newbie' }, status => 422, name => 'newbie');
refused(what => 'register with malformed JSON', method => 'POST', path => "$R/register$q", key => $w,
        body => '{"service_name": "orders", ', status => 400, name => 'orders');
refused(what => 'register with a text/plain body', method => 'POST', path => "$R/register$q", key => $w,
        body => json_body($good), type => 'text/plain', status => 415, name => 'orders');
for my $t (
    [{ service_name => 'orders' }, 'no status'],
    [{ status => 'healthy' }, 'no service_name'],
    [{ service_name => 'orders', status => 'up' }, 'status "up"'],
    [{ service_name => 'orders', status => 'healthy', response_time => 'fast' }, 'response_time a string'],
    [{ service_name => 'orders', status => 'healthy', response_time => -1 }, 'a negative response_time'],
    [{ service_name => 'orders', status => 'healthy', uptime => 5 }, 'an unknown field'],
) {
    refused(what => "health with $t->[1]", method => 'PUT', path => "$R/health$q", key => $w, body => $t->[0],
            status => 422, name => 'orders');
}
refused(what => 'health of an unregistered service', method => 'PUT', path => "$R/health$q", key => $w,
        body => { service_name => 'ghost', status => 'healthy' }, status => 404, name => 'ghost');
refused(what => 'list with an unknown status', method => 'GET', path => "$R?status=up&namespace=$ns", key => $w,
        status => 422, name => 'orders');
refused(what => 'list with an unknown parameter', method => 'GET', path => "$R?colour=red&namespace=$ns", key => $w,
        status => 422, name => 'orders');
is(rows('newbie'), 0, 'no row was created for the refused registration');

# ======================================================================
# authentication and access
# ======================================================================
refused(what => 'register without a key', method => 'POST', path => "$R/register$q", body => $good, status => 401, name => 'orders');
refused(what => 'health without a key', method => 'PUT', path => "$R/health$q", body => { service_name => 'orders', status => 'unhealthy' },
        status => 401, name => 'orders');
refused(what => 'deregister without a key', method => 'DELETE', path => "$R/orders$q", status => 401, name => 'orders');
is(req(GET => "$R/orders$q")->{status}, 401, 'get without a key: 401');
is(req(GET => "$R$q")->{status}, 401, 'list without a key: 401');
is(req(GET => "$R/healthy$q")->{status}, 401, 'healthy without a key: 401');
refused(what => 'a reader registers', method => 'POST', path => "$R/register$q", key => $r, body => $good, status => 403, name => 'orders');
refused(what => 'a reader registers a new service', method => 'POST', path => "$R/register$q", key => $r,
        body => { service_name => 'newbie', service_url => 'http://newbie' }, status => 403, name => 'newbie');
refused(what => 'a reader reports health', method => 'PUT', path => "$R/health$q", key => $r,
        body => { service_name => 'orders', status => 'unhealthy' }, status => 403, name => 'orders');
refused(what => 'a reader deregisters', method => 'DELETE', path => "$R/orders$q", key => $r, status => 403, name => 'orders');
refused(what => 'a reader deregisters through the alias', method => 'DELETE', path => "$S/orders$q", key => $r, status => 403, name => 'orders');
$res = req(GET => "$R/orders$q", key => $r);
is_deeply([$res->{status}, $res->{body}{status}], [200, 'healthy'], 'a reader gets the service');
is(req(GET => "$R$q", key => $r)->{body}{total}, 1, 'a reader lists it');
is(req(GET => "$R/healthy$q", key => $r)->{body}{total}, 1, 'a reader sees it healthy');
refused(what => 'an outsider registers here', method => 'POST', path => "$R/register$q", key => $o, body => $good, status => 403, name => 'orders');
refused(what => 'an outsider deregisters here', method => 'DELETE', path => "$R/orders$q", key => $o, status => 403, name => 'orders');
is(req(GET => "$R/orders$q", key => $o)->{status}, 403, 'an outsider cannot get a service here: 403');
is(req(GET => "$R/ghost$q", key => $o)->{status}, 403, '... nor learn that one is missing: 403, not 404');
is(req(GET => "$R$q", key => $o)->{status}, 403, '... nor list here: 403');
is(req(GET => "$R/healthy$q", key => $o)->{status}, 403, '... nor list the healthy ones here: 403');
is(req(POST => "$R/register?namespace=$other", key => $o, body => { service_name => 'mine', service_url => 'http://mine' })->{status},
   201, 'the outsider registers in its own namespace');
req(PUT => "$R/health?namespace=$other", key => $o, body => { service_name => 'mine', status => 'healthy' });
$res = req(GET => $R, key => $o);
is_deeply([map { "$_->{namespace}/$_->{service_name}" } @{ $res->{body}{services} }], ["$other/mine"],
          'listing every namespace, the outsider sees only its own service');
$res = req(GET => "$R/healthy", key => $o);
is((grep { $_->{namespace} eq $ns } @{ $res->{body}{services} }), 0, '... and none of this namespace among the healthy');
is((grep { $_->{namespace} eq $other } @{ req(GET => $R, key => $w)->{body}{services} }), 0,
   "the writer of this namespace does not see the outsider's service");

$ev = events_after($last);
is_deeply(summary($ev->{events}), [], 'none of the refused requests made an event (for this namespace)');
is(scalar(grep { $_->{namespace} eq $other } @{ events_after(0, key => $o)->{events} }), 2,
   'the outsider sees its own two events (register, healthy)');

# ======================================================================
# the TTL by the clock: an instance whose report is older than its ttl is
# unhealthy in every read, without anyone writing
# ======================================================================
is(req(POST => "$R/register$q", key => $w, body => { service_name => 'blink', service_url => 'http://blink', ttl => 3 })->{status},
   201, 'register with ttl 3 (seconds: room for a slow machine between a report and a read)');
is(req(PUT => "$R/health$q", key => $w, body => { service_name => 'blink', status => 'healthy' })->{status}, 200, 'report healthy');
sub healthy_names { return [sort map { $_->{service_name} } @{ req(GET => "$R/healthy$q", key => $w)->{body}{services} }] }
is_deeply(healthy_names(), ['blink', 'orders'], 'just reported: healthy');
my $before_expiry = max_event();
select(undef, undef, undef, 3.3);
$res = req(GET => "$R/blink$q", key => $w);
is_deeply([$res->{body}{status}, $res->{body}{instances}[0]{expired} ? 'expired' : 'live', $res->{body}{instances}[0]{reported_status}],
          ['unhealthy', 'expired', 'healthy'], '3.3 s later: unhealthy and expired; the reported status is kept');
is_deeply(healthy_names(), ['orders'], '... dropped from /healthy');
is_deeply([map { $_->{service_name} } @{ req(GET => "$R?status=unhealthy&namespace=$ns", key => $w)->{body}{services} }], ['blink'],
          '... listed with ?status=unhealthy');
is(max_event(), $before_expiry, 'the expiry wrote nothing: no event');
is(req(PUT => "$R/health$q", key => $w, body => { service_name => 'blink', status => 'healthy' })->{status}, 200, 'a new report');
is_deeply(healthy_names(), ['blink', 'orders'], '... revives it');
$last = events_after($last)->{last_id};

# ======================================================================
# LISTEN metastore_events: a wake-up with id, action and type only
# ======================================================================
{
    my $pid = open(my $listen, '-|', 'psql', '-X', '-q', '-d', $ENV{METASTORE_TEST_DB},
                   '-c', 'LISTEN metastore_events', '-c', 'SELECT pg_sleep(2)') or die "psql: $!";
    select(undef, undef, undef, 0.7);
    is(req(POST => "$R/register$q", key => $w, body => { service_name => 'notified', service_url => 'http://notified' })->{status},
       201, 'a registration while a client listens');
    local $/;
    my $out = <$listen>;
    close $listen;
    my @payloads = $out =~ /Asynchronous notification "metastore_events" with payload "(.*?)" received/g;
    my $ev1 = events_after($last)->{events}[-1];
    my ($mine) = grep { my $p = eval { decode_json($_) } || {}; ($p->{id} // 0) == ($ev1->{id} // -1) } @payloads;
    ok(defined $mine, 'the listener was notified of the event') or diag($out);
    is_deeply(decode_json($mine // '{}'), { id => $ev1->{id}, action => 'create', resource_type => 'service' },
              'the payload holds id, action and resource_type only');
}

done_testing();
