#!/usr/bin/env perl
# The feature-flag routes through the real shim (sql/install/45_flags_http.sql):
# seed 000's /api/v1/feature-flags with the request shapes of seeds 001 and 002
# replayed as the seeds write them, access by namespace, the kill switch and
# rollouts, evaluation checked from first principles (metastore.bucket through
# psql decides who is in a rollout), overrides, versions and rollback, the
# Unleash import, bulk evaluation, and OFREP (single, bulk, ETag / 304).
# Every unhappy path checks its status and that nothing changed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use ShimTest;

my $ns    = uniq('flags');                # the flags of this test
my $other = uniq('flags-other');          # a namespace the outsider writes
my $w = principal_key(uniq('fwriter'), [$ns, 'writer']);
my $r = principal_key(uniq('freader'), [$ns, 'reader']);
my $o = principal_key(uniq('foutsider'), [$other, 'writer']);
my $q = "?namespace=$ns";
my $F = '/api/v1/feature-flags';
my @users = map { "user-$_" } 1 .. 40;

# percent-encode a path segment or query value
sub enc { my $s = shift; $s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge; return $s }

# a flag name no other test uses (names are global); [A-Za-z0-9._-] only
sub fname { my $p = shift; my $n = uniq($p); $n =~ s/[^A-Za-z0-9._-]/-/g; return $n }

# {user => metastore.bucket('<group>:<user>', seed, normalizer)}, from SQL
sub buckets {
    my ($group, $who, $seed, $norm) = @_;
    my $list = join ',', map { "'$_'" } @$who;
    my $out = psql(sprintf(q{SELECT u || '|' || metastore.bucket('%s:' || u, %d, %d) FROM unnest(ARRAY[%s]) u},
                           $group, $seed // 0, $norm // 100, $list));
    return { map { split /\|/, $_, 2 } split /\n/, $out };
}

# who is in a rollout of `pct` percent of group: {user => [enabled, reason]}
sub rollout_expect {
    my ($group, $pct, $who, %o) = @_;
    my $b = buckets($group, $who);
    my %t = map { $_ => 1 } @{ $o{targets} // [] };
    return { map {
        $_ => $t{$_} ? [1, 'TARGETING_MATCH'] : $b->{$_} <= $pct ? [1, $o{in} // 'SPLIT'] : [0, $o{out} // 'DEFAULT']
    } @$who };
}

# evaluate a flag for each user through POST .../evaluate: {user => [enabled, reason]}
sub eval_users {
    my ($name, $who, %extra) = @_;
    my %got;
    for my $u (@$who) {
        my $res = req(POST => "$F/evaluate", key => $w, body => { name => $name, context => { userId => $u }, %extra });
        $got{$u} = $res->{status} == 200 ? [$res->{body}{enabled} ? 1 : 0, $res->{body}{reason}]
                                         : ["status $res->{status}", $res->{raw}];
    }
    return \%got;
}

sub in_set { my $e = shift; return scalar grep { $e->{$_}[0] } keys %$e }

# the flag as its writer reads it
sub flag { my $ref = shift; return req(GET => "$F/" . enc($ref), key => $w) }

# how many rows (live or deleted) hold this flag name, whatever their namespace
sub flag_rows {
    my $sql = sprintf('SELECT count(*) FROM metastore.flags WHERE name = $n$%s$n$', shift);
    utf8::encode($sql);
    return psql($sql);
}

# one unhappy request: its status, then the flag re-read is exactly as before
# it (ref => name or id), or no flag of that name exists (absent => name)
sub refused {
    my (%a) = @_;
    my $before = defined $a{ref} ? flag($a{ref}) : undef;
    die "refused: cannot read flag $a{ref} before '$a{what}': $before->{raw}\n"
      if $before && $before->{status} != 200;
    my $res = req($a{method}, $a{path}, (exists $a{key} ? (defined $a{key} ? (key => $a{key}) : ()) : (key => $w)),
                  (exists $a{body} ? (body => $a{body}) : ()), headers => $a{headers} // {},
                  (defined $a{type} ? (type => $a{type}) : ()));
    is($res->{status}, $a{status}, "$a{what}: $a{status}") or diag($res->{raw});
    if (defined $a{ref}) {
        my $now = flag($a{ref});
        is_deeply($now->{body}, $before->{body}, "$a{what}: the flag is unchanged") or diag($now->{raw});
    }
    if (defined $a{absent}) {
        is(flag_rows($a{absent}), 0, "$a{what}: no flag was created");
    }
    return $res;
}

sub set_of { my %h = map { $_ => 1 } @_; return [sort keys %h] }

# ======================================================================
# seed 000: create (README "Create a Feature Flag") and evaluate, verbatim
# ======================================================================
my $s0 = fname('new-checkout-flow');
my $res = req(POST => "$F$q", key => $w, body => <<"JSON");
{
    "name": "$s0",
    "description": "Enable new checkout experience",
    "enabled": true,
    "default_value": false,
    "rollout_percentage": 25,
    "tags": ["checkout", "experiment"]
  }
JSON
is($res->{status}, 201, 'seed 000 create: 201');
my $s0id = $res->{body}{id};
like($s0id // '', qr/^\d+$/, 'the flag has a numeric id');
is($res->{headers}{location}, "$F/$s0id", 'Location names the new flag');
is($res->{headers}{etag}, '"1"', 'ETag is the version');
is($res->{body}{name}, $s0, 'name');
is($res->{body}{key}, $s0, 'key is the name');
is($res->{body}{namespace}, $ns, '?namespace= puts the flag there');
is($res->{body}{description}, 'Enable new checkout experience', 'description');
ok($res->{body}{enabled}, 'enabled: true');
ok(defined $res->{body}{default_value} && !$res->{body}{default_value}, 'default_value: false');
is($res->{body}{rollout_percentage}, 25, 'rollout_percentage: 25');
is_deeply($res->{body}{tags}, ['checkout', 'experiment'], 'tags');
is($res->{body}{version}, 1, 'version 1');
is($res->{body}{value_type}, 'boolean', 'value_type boolean by default');
ok($res->{body}{created_by} && $res->{body}{created_at}, 'audit columns set');
my $created = $res->{body};

$res = req(GET => $res->{headers}{location}, key => $w);
is($res->{status}, 200, 'GET the Location: 200');
is_deeply($res->{body}, $created, 'it is the created flag');
is($res->{headers}{etag}, '"1"', 'GET has the ETag');
is(req(GET => "$F/name/$s0", key => $w)->{body}{id}, $s0id, 'GET name/{name}');
is(req(GET => "$F/key/$s0", key => $w)->{body}{id}, $s0id, 'GET key/{key} (seed 002)');
is(req(GET => "$F/$s0", key => $w)->{body}{id}, $s0id, 'GET {id} with a name reads by name');

# seed 000's evaluate curl, verbatim
$res = req(POST => "$F/evaluate", key => $w, body => <<"JSON");
{
    "name": "$s0",
    "context": {"user_id": "user-123", "country": "US"},
    "tenant_id": "premium-tenant",
    "environment": "production"
  }
JSON
is($res->{status}, 200, 'seed 000 evaluate: 200');
{
    my $in = buckets($s0, ['user-123'])->{'user-123'} <= 25;
    is($res->{body}{name}, $s0, 'evaluate names the flag');
    is(($res->{body}{enabled} ? 1 : 0), ($in ? 1 : 0), 'user-123 is enabled exactly when bucket("<name>:user-123") <= 25');
    is($res->{body}{reason}, $in ? 'SPLIT' : 'DEFAULT', 'reason SPLIT inside the rollout, DEFAULT outside');
    is(($res->{body}{value} ? 1 : 0), ($in ? 1 : 0), 'a boolean flag\'s value is its state');
    is($res->{body}{tenant_id}, 'premium-tenant', 'tenant_id echoed');
    is($res->{body}{environment}, 'production', 'environment echoed');
    is($res->{body}{version}, 1, 'the version evaluated');
}

# the 25% rollout, user by user, from first principles
{
    my $want = rollout_expect($s0, 25, \@users);
    ok(in_set($want) > 0 && in_set($want) < @users, 'the sample has users inside and outside the rollout');
    is_deeply(eval_users($s0, \@users), $want,
              '25%: exactly the users with bucket("<name>:<user>") <= 25 are enabled (SPLIT), the rest DEFAULT');
    is_deeply(eval_users($s0, \@users, environment => 'production'), $want,
              'an environment without an override evaluates the base definition');
    # target_users: two users outside the rollout become TARGETING_MATCH, nobody else changes
    my @out = (grep { !$want->{$_}[0] } @users)[0, 1];
    $res = req(PUT => "$F/$s0id", key => $w, body => { target_users => \@out });
    is($res->{status}, 200, 'PUT target_users: 200');
    is_deeply($res->{body}{target_users}, \@out, 'the response shows target_users');
    is($res->{body}{rollout_percentage}, 25, 'the rollout is kept');
    is($res->{headers}{etag}, '"2"', 'the new ETag');
    is_deeply(eval_users($s0, \@users), rollout_expect($s0, 25, \@users, targets => \@out),
              'target users get TARGETING_MATCH; everyone else is decided by the bucket as before');
}

# ======================================================================
# seed 001 (README "Create Feature Flag", "Evaluate", "Update"), verbatim
# ======================================================================
my $s1 = fname('new_checkout_flow');
$res = req(POST => "$F$q", key => $w, body => <<"JSON");
{
  "name": "$s1",
  "description": "Enable new checkout UI",
  "is_enabled": true,
  "rollout_percentage": 50.0,
  "target_users": ["user123", "user456"],
  "environment": "production"
}
JSON
is($res->{status}, 201, 'seed 001 create: 201');
my $s1id = $res->{body}{id};
is($res->{headers}{location}, "$F/$s1id", 'seed 001 create: Location');
$res = req(POST => "$F/evaluate", key => $w, body => <<"JSON");
{
  "flag_name": "$s1",
  "environment": "production",
  "user_id": "user123"
}
JSON
is($res->{status}, 200, 'seed 001 evaluate: 200');
ok($res->{body}{enabled}, 'seed 001: user123 is a target user: enabled true');
is($res->{body}{reason}, 'TARGETING_MATCH', 'seed 001: reason user_targeted is OpenFeature\'s TARGETING_MATCH');
is($res->{body}{flag_name}, $s1, 'seed 001: flag_name');
is($res->{body}{environment}, 'production', 'seed 001: environment');
{
    # the fractional 50.0 rollout in production, seed 001's request shape
    my @who = (@users, 'user123', 'user456');
    my $want = rollout_expect($s1, 50, \@who, targets => ['user123', 'user456']);
    my %got;
    for my $u (@who) {
        my $e = req(POST => "$F/evaluate", key => $w,
                    body => { flag_name => $s1, environment => 'production', user_id => $u })->{body};
        $got{$u} = [$e->{enabled} ? 1 : 0, $e->{reason}];
    }
    is_deeply(\%got, $want,
              'seed 001, production: target users TARGETING_MATCH, others enabled exactly when bucket("<name>:<user>") <= 50.0');
}
$res = req(PUT => "$F/$s1id", key => $w, body => <<'JSON');
{
  "is_enabled": true,
  "rollout_percentage": 75.0
}
JSON
is($res->{status}, 200, 'seed 001 update: 200');
ok($res->{body}{is_enabled}, 'seed 001 update: is_enabled true');
is($res->{body}{rollout_percentage}, 75, 'seed 001 update: rollout_percentage 75');
is($res->{body}{version}, 2, 'seed 001 update: version 2');
is($res->{headers}{etag}, '"2"', 'seed 001 update: ETag "2"');
{
    # seed 001's flag lives in one environment: its update applies where it is evaluated
    my %got;
    for my $u (@users) {
        my $e = req(POST => "$F/evaluate", key => $w,
                    body => { flag_name => $s1, environment => 'production', user_id => $u })->{body};
        $got{$u} = [$e->{enabled} ? 1 : 0, $e->{reason}];
    }
    is_deeply(\%got, rollout_expect($s1, 75, \@users, targets => ['user123', 'user456']),
              'seed 001 after the update: production follows the 75.0 rollout (bucket <= 75)');
}

# ======================================================================
# seed 002 (README "Feature Flags"): create, check, gradual rollout, verbatim
# ======================================================================
my $s2 = fname('new_dashboard');
$res = req(POST => "$F$q", key => $w, body => <<"JSON");
{
    "flag_name": "New Dashboard",
    "flag_key": "$s2",
    "description": "Enable new dashboard UI",
    "is_enabled": true,
    "rollout_percentage": 25,
    "environment": "production"
}
JSON
is($res->{status}, 201, 'seed 002 create: 201');
is($res->{body}{key}, $s2, 'seed 002: flag_key is the key');
is($res->{body}{name}, $s2, 'seed 002: and the name');
is($res->{body}{display_name}, 'New Dashboard', 'seed 002: flag_name is kept as display_name');
is($res->{body}{description}, 'Enable new dashboard UI', 'seed 002: description');
is(req(GET => "$F/key/$s2", key => $w)->{status}, 200, 'seed 002: GET key/{key}');
{
    my $b = buckets($s2, \@users);
    my (%got, %got_env);
    for my $u (@users) {
        my $c = req(GET => "$F/check/$s2?user_id=$u", key => $w);
        $got{$u} = $c->{status} == 200 && $c->{body}{key} eq $s2 ? ($c->{body}{enabled} ? 1 : 0) : "status $c->{status}";
        $c = req(GET => "$F/check/$s2?user_id=$u&environment=production", key => $w);
        $got_env{$u} = $c->{status} == 200 ? ($c->{body}{enabled} ? 1 : 0) : "status $c->{status}";
    }
    is_deeply([sort keys %{ req(GET => "$F/check/$s2?user_id=123", key => $w)->{body} // {} }], ['enabled', 'key'],
              'seed 002 check: {key, enabled}');
    my %want = map { $_ => ($b->{$_} <= 25 ? 1 : 0) } @users;
    is_deeply(\%got_env, \%want,
              'seed 002 check ?environment=production: {key, enabled}, enabled exactly when bucket("<key>:<user>") <= 25');
    is_deeply(\%got, \%want, 'seed 002 check ?user_id= as the seed sends it: enabled exactly when bucket <= 25');

    # PUT rollout/{key}?percentage=50, verbatim
    $res = req(PUT => "$F/rollout/$s2?percentage=50", key => $w);
    is($res->{status}, 200, 'seed 002 PUT rollout/{key}?percentage=50: 200') or diag($res->{raw});
    for my $u (@users) {
        my $c = req(GET => "$F/check/$s2?user_id=$u", key => $w);
        $got{$u} = $c->{status} == 200 ? ($c->{body}{enabled} ? 1 : 0) : "status $c->{status}";
    }
    %want = map { $_ => ($b->{$_} <= 50 ? 1 : 0) } @users;
    is_deeply(\%got, \%want, 'seed 002 after the rollout: enabled exactly when bucket <= 50');
}
$res = req(GET => "$F/evaluate/$s2?user_id=user-1&environment=production", key => $w);
is($res->{status}, 200, 'seed 002 GET evaluate/{key}: 200');
is($res->{body}{key}, $s2, 'GET evaluate/{key}: key');
ok(exists $res->{body}{$_}, "GET evaluate/{key}: has $_") for qw(value reason enabled variant);
$res = req(GET => "$F/bulk?user_id=user-1", key => $w);
is($res->{status}, 200, 'seed 002 GET bulk: 200');
ok(exists $res->{body}{flags}{$s2} && exists $res->{body}{flags}{$s0}, 'GET bulk: {flags: {key: value}} for every readable flag');
ok(JSON::PP::is_bool($res->{body}{flags}{$s2}), 'GET bulk: a boolean flag maps to its value');

# ======================================================================
# CRUD statuses
# ======================================================================
my $c1 = fname('crud');
$res = req(POST => $F, key => $w, headers => { 'x-namespace' => $ns },
           body => { name => $c1, enabled => true_(), description => 'one', tags => ['a'] });
is($res->{status}, 201, 'create with X-Namespace: 201');
is($res->{body}{namespace}, $ns, 'X-Namespace selects the namespace');
my $c1id = $res->{body}{id};
refused(what => 'create the same name with other content', method => 'POST', path => "$F$q",
        body => { name => $c1, enabled => false_() }, status => 409, ref => $c1);
is(req(POST => "$F$q", key => $w, body => { name => $c1, enabled => false_() })->{body}{code}, 'MS409',
   'the 409 body carries MS409');
{
    # an identical repeat is idempotent, as POST /records is: 200 with the flag, no new version
    my $before = req(GET => "$F/$c1id", key => $w)->{body};
    my $again = req(POST => "$F$q", key => $w, body => { name => $c1, enabled => true_(), description => 'one', tags => ['a'] });
    is($again->{status}, 200, 'create the same name with the same content: 200 (idempotent)');
    ok(!defined $again->{headers}{location}, 'an idempotent repeat has no Location');
    is($again->{body}{version}, $before->{version}, 'an idempotent repeat writes no version');
}
refused(what => 'create with the seed 001 name field too (flag_name)', method => 'POST', path => "$F$q",
        body => { flag_name => $c1, enabled => false_() }, status => 409, ref => $c1);
is(req(GET => "$F/999999999", key => $w)->{status}, 404, 'GET an unknown id: 404');
is(req(GET => "$F/name/no-such-flag-$$", key => $w)->{status}, 404, 'GET an unknown name: 404');
is(req(GET => "$F/key/no-such-flag-$$", key => $w)->{status}, 404, 'GET an unknown key: 404');
is(req(GET => "$F/no-such-flag-$$", key => $w)->{body}{code}, 'MS404', 'the 404 body carries MS404');
is(req(GET => "$F/$c1id", key => $w, headers => { 'if-none-match' => '"1"' })->{status}, 304,
   'GET with If-None-Match: the current ETag: 304');

refused(what => 'PUT with a stale If-Match', method => 'PUT', path => "$F/$c1id", body => { description => 'two' },
        headers => { 'if-match' => '"7"' }, status => 412, ref => $c1);
refused(what => 'PUT with a malformed If-Match', method => 'PUT', path => "$F/$c1id", body => { description => 'two' },
        headers => { 'if-match' => 'soon' }, status => 400, ref => $c1);
refused(what => 'PUT an unknown id', method => 'PUT', path => "$F/999999999", body => { description => 'two' },
        status => 404, ref => $c1);
$res = req(PUT => "$F/$c1id", key => $w, body => { description => 'two' }, headers => { 'if-match' => '"1"' });
is($res->{status}, 200, 'PUT with the current If-Match: 200');
is($res->{headers}{etag}, '"2"', 'PUT: the new ETag');
is($res->{body}{description}, 'two', 'PUT: the field given is replaced');
is_deeply($res->{body}{tags}, ['a'], 'PUT: the fields not given are kept');
ok($res->{body}{enabled}, 'PUT: the definition not given is kept');
refused(what => 'PUT with the previous ETag', method => 'PUT', path => "$F/$c1id", body => { description => 'three' },
        headers => { 'if-match' => '"1"' }, status => 412, ref => $c1);
refused(what => 'DELETE with a stale If-Match', method => 'DELETE', path => "$F/$c1id",
        headers => { 'if-match' => '"1"' }, status => 412, ref => $c1);
refused(what => 'PATCH', method => 'PATCH', path => "$F/$c1id", body => {}, status => 405, ref => $c1);
like(req(PATCH => "$F/$c1id", key => $w, body => {})->{headers}{allow} // '', qr/PUT/, '405 lists the allowed methods');

$res = req(GET => "$F$q", key => $w);
is($res->{status}, 200, 'list ?namespace=: 200');
is_deeply([map { $_->{name} } @{ $res->{body}{items} }], [sort { $a cmp $b } $c1, $s0, $s1, $s2],
          'list: the namespace\'s flags, by name');
$res = req(GET => "$F?namespace=$ns&prefix=" . enc($c1), key => $w);
is_deeply([map { $_->{name} } @{ $res->{body}{items} }], [$c1], 'list ?prefix=');
is(req(GET => "$F?namespace=$ns&bogus=1", key => $w)->{status}, 422, 'list with an unknown parameter: 422');
is(req(GET => "$F?namespace=$ns&limit=0", key => $w)->{status}, 422, 'list with limit 0: 422');

is(req(DELETE => "$F/$c1id", key => $w, headers => { 'if-match' => '"2"' })->{status}, 204, 'DELETE: 204');
is(req(GET => "$F/$c1id", key => $w)->{status}, 404, 'deleted flag: GET {id} 404');
is(req(GET => "$F/name/$c1", key => $w)->{status}, 404, 'deleted flag: GET name/{name} 404');
is(req(DELETE => "$F/$c1id", key => $w)->{status}, 404, 'DELETE again: 404');
$res = req(POST => "$F/evaluate", key => $w, body => { name => $c1 });
is($res->{status}, 404, 'evaluate a deleted flag: 404');
is($res->{body}{error_code}, 'FLAG_NOT_FOUND', 'evaluate a deleted flag: FLAG_NOT_FOUND');
ok(!grep({ $_->{name} eq $c1 } @{ req(GET => "$F$q", key => $w)->{body}{items} }), 'a deleted flag is not listed');

# ======================================================================
# namespaces and access
# ======================================================================
my $a1 = fname('access');
is(req(POST => "$F$q", key => $w, body => { name => $a1, enabled => true_() })->{status}, 201, 'access: flag created');
my $a1id = flag($a1)->{body}{id};
my $snap = flag($a1)->{body};

# a principal with reader on the namespace: reads and evaluates, never writes
$res = req(GET => "$F/$a1id", key => $r);
is($res->{status}, 200, 'reader: GET {id} 200');
is_deeply($res->{body}, $snap, 'reader: sees the flag');
is(req(GET => "$F/name/$a1", key => $r)->{status}, 200, 'reader: GET name/{name} 200');
is(req(GET => "$F$q", key => $r)->{status}, 200, 'reader: list 200');
$res = req(POST => "$F/evaluate", key => $r, body => { name => $a1 });
is($res->{status}, 200, 'reader: evaluate 200');
is($res->{body}{reason}, 'STATIC', 'reader: evaluation result');
is(req(GET => "$F/check/$a1", key => $r)->{body}{enabled} ? 1 : 0, 1, 'reader: check');
is(req(POST => "/ofrep/v1/evaluate/flags/$a1", key => $r, body => { context => {} })->{status}, 200, 'reader: OFREP 200');
is(req(GET => "$F/$a1id/versions", key => $r)->{status}, 200, 'reader: versions 200');
refused(what => 'reader PUT', key => $r, method => 'PUT', path => "$F/$a1id", body => { enabled => false_() },
        status => 403, ref => $a1);
refused(what => 'reader POST create', key => $r, method => 'POST', path => "$F$q",
        body => { name => "$a1-r" }, status => 403, absent => "$a1-r");
refused(what => 'reader POST {id}/disable', key => $r, method => 'POST', path => "$F/$a1id/disable",
        status => 403, ref => $a1);
refused(what => 'reader POST {id}/enable?environment=', key => $r, method => 'POST',
        path => "$F/$a1id/enable?environment=staging", status => 403, ref => $a1);
refused(what => 'reader PUT toggle/{key}', key => $r, method => 'PUT', path => "$F/toggle/$a1",
        status => 403, ref => $a1);
refused(what => 'reader POST {id}/rollout', key => $r, method => 'POST', path => "$F/$a1id/rollout",
        body => { percentage => 10 }, status => 403, ref => $a1);
refused(what => 'reader PUT rollout/{key}', key => $r, method => 'PUT', path => "$F/rollout/$a1?percentage=10",
        status => 403, ref => $a1);
refused(what => 'reader POST rollback', key => $r, method => 'POST', path => "$F/$a1id/rollback/1",
        status => 403, ref => $a1);
refused(what => 'reader DELETE', key => $r, method => 'DELETE', path => "$F/$a1id",
        status => 403, ref => $a1);
refused(what => 'reader POST import', key => $r, method => 'POST', path => "$F/import$q",
        body => { version => 2, features => [{ name => "$a1-imp", enabled => true_() }] },
        status => 403, absent => "$a1-imp");
refused(what => 'no key', key => undef, method => 'PUT', path => "$F/$a1id", body => { enabled => false_() },
        status => 401, ref => $a1);

# a principal without grants on the flag's namespace: the flag does not exist for it
my $ghost = "no-such-flag-$$";
for my $case (["GET $F/{id}", sub { req(GET => "$F/$_[0]", key => $o) }, $a1id, 999999998],
              ["GET $F/name/{name}", sub { req(GET => "$F/name/$_[0]", key => $o) }, $a1, $ghost],
              ["GET $F/{id}/versions", sub { req(GET => "$F/$_[0]/versions", key => $o) }, $a1id, 999999998]) {
    my ($what, $call, $real, $fake) = @{$case};
    my ($x, $y) = ($call->($real), $call->($fake));
    is($x->{status}, 404, "outsider: $what answers 404");
    is($x->{body}{code}, $y->{body}{code}, "outsider: $what looks like a missing flag");
}
{
    my $x = req(POST => "$F/evaluate", key => $o, body => { name => $a1, context => { userId => 'u' } });
    my $y = req(POST => "$F/evaluate", key => $o, body => { name => $ghost, context => { userId => 'u' } });
    is($x->{status}, 404, 'outsider: evaluate answers 404');
    is($x->{body}{error_code}, 'FLAG_NOT_FOUND', 'outsider: evaluate says FLAG_NOT_FOUND');
    ok(!defined $x->{body}{version} && !defined $x->{body}{value_type}, 'outsider: no version or type of the flag leaks');
    (my $xs = $x->{raw}) =~ s/\Q$a1\E/NAME/g;
    (my $ys = $y->{raw}) =~ s/\Q$ghost\E/NAME/g;
    is($xs, $ys, 'outsider: the evaluation is the same as for a flag that does not exist');
    $x = req(POST => "/ofrep/v1/evaluate/flags/$a1", key => $o, body => { context => { targetingKey => 'u' } });
    is($x->{status}, 404, 'outsider: OFREP 404');
    is($x->{body}{errorCode}, 'FLAG_NOT_FOUND', 'outsider: OFREP FLAG_NOT_FOUND');
    is($x->{body}{key}, $a1, 'outsider: OFREP error names the key asked for');
    ok(!exists $x->{body}{value}, 'outsider: OFREP returns no value');
    $x = req(GET => "$F/check/$a1?user_id=u", key => $o);
    is($x->{status}, 404, 'outsider: check 404');
    ok(!$x->{body}{enabled}, 'outsider: check enabled false');
    is(req(GET => "$F/evaluate/$a1?user_id=u", key => $o)->{status}, 404, 'outsider: GET evaluate/{key} 404');
    $x = req(POST => "$F/evaluate/bulk", key => $o, body => { names => [$a1] });
    is($x->{body}{results}[0]{error_code}, 'FLAG_NOT_FOUND', 'outsider: bulk by name says FLAG_NOT_FOUND');
    $x = req(POST => "$F/evaluate/bulk", key => $o, body => {});
    ok(!grep({ $_->{key} eq $a1 } @{ $x->{body}{results} // [] }), 'outsider: bulk of all flags does not list it');
    ok(!exists $x->{body}{flags}{$a1}, 'outsider: nor its flags map');
    ok(!exists req(GET => "$F/bulk", key => $o)->{body}{flags}{$a1}, 'outsider: GET bulk does not list it');
    $x = req(POST => '/ofrep/v1/evaluate/flags', key => $o, body => { context => {} });
    ok(!grep({ $_->{key} eq $a1 } @{ $x->{body}{flags} // [] }), 'outsider: OFREP bulk does not list it');
    ok(!grep({ $_->{name} eq $a1 } @{ req(GET => $F, key => $o)->{body}{items} // [] }), 'outsider: list does not show it');
    is(req(GET => "$F$q", key => $o)->{status}, 403, 'outsider: list ?namespace= of a foreign namespace: 403');
}
refused(what => 'outsider PUT', key => $o, method => 'PUT', path => "$F/$a1id", body => { enabled => false_() },
        status => 404, ref => $a1);
refused(what => 'outsider DELETE', key => $o, method => 'DELETE', path => "$F/$a1id", status => 404,
        ref => $a1);
refused(what => 'outsider toggle', key => $o, method => 'PUT', path => "$F/toggle/$a1", status => 404,
        ref => $a1);
refused(what => 'outsider disable', key => $o, method => 'POST', path => "$F/$a1id/disable", status => 404,
        ref => $a1);
refused(what => 'outsider rollback', key => $o, method => 'POST', path => "$F/$a1id/rollback/1", status => 404,
        ref => $a1);
refused(what => 'writer creates in a namespace it may not write', method => 'POST', path => "$F?namespace=$other",
        body => { name => "$a1-x" }, status => 403, absent => "$a1-x");

# ======================================================================
# enable / disable / toggle
# ======================================================================
my $k1 = fname('kill');
$res = req(POST => "$F$q", key => $w, body => { name => $k1 });
is($res->{status}, 201, 'a flag created without enabled');
ok(!$res->{body}{enabled}, 'is off');
my $k1id = $res->{body}{id};
sub reason_of { my ($n, %b) = @_; my $e = req(POST => "$F/evaluate", key => $w, body => { name => $n, %b })->{body};
                return ($e->{enabled} ? 'on' : 'off') . ' ' . ($e->{reason} // '?') }
is(reason_of($k1), 'off DISABLED', 'off: DISABLED');
$res = req(POST => "$F/$k1id/enable", key => $w);
is($res->{status}, 200, 'enable: 200');
ok($res->{body}{enabled}, 'enable: enabled');
is($res->{headers}{etag}, '"2"', 'enable: a new version');
is(reason_of($k1), 'on STATIC', 'on without strategies: STATIC');
is(req(POST => "$F/$k1id/enable", key => $w)->{body}{version}, 2, 'enable again: no new version');
$res = req(POST => "$F/$k1/disable", key => $w);
is($res->{status}, 200, 'disable by name: 200');
ok(!$res->{body}{enabled}, 'disable: off');
is(reason_of($k1), 'off DISABLED', 'disabled: DISABLED');
$res = req(PUT => "$F/toggle/$k1", key => $w);
is($res->{status}, 200, 'toggle: 200');
ok($res->{body}{enabled}, 'toggle: on');
is(reason_of($k1), 'on STATIC', 'toggled on: STATIC');
ok(!req(PUT => "$F/toggle/$k1", key => $w)->{body}{enabled}, 'toggle again: off');
is(reason_of($k1), 'off DISABLED', 'toggled off: DISABLED');
$res = req(POST => "$F/$k1id/enable?environment=staging", key => $w);
is($res->{status}, 200, 'enable ?environment=staging: 200');
ok(!$res->{body}{enabled}, 'the base stays off');
is(reason_of($k1, environment => 'staging'), 'on STATIC', 'on in staging');
is(reason_of($k1, environment => 'production'), 'off DISABLED', 'still off in production');
is(reason_of($k1), 'off DISABLED', 'still off without an environment');
{
    # seed 001's list ?environment=: that environment's enabled
    my ($e) = grep { $_->{name} eq $k1 } @{ req(GET => "$F$q&environment=staging", key => $w)->{body}{items} // [] };
    is_deeply([($e // {})->{environment}, ($e // {})->{enabled} ? 1 : 0], ['staging', 1], 'list ?environment=staging: enabled there');
}
refused(what => 'enable with a stale If-Match', method => 'POST', path => "$F/$k1id/enable",
        headers => { 'if-match' => '"1"' }, status => 412, ref => $k1);
refused(what => 'toggle with a stale If-Match', method => 'PUT', path => "$F/toggle/$k1",
        headers => { 'if-match' => '"1"' }, status => 412, ref => $k1);
refused(what => 'enable with an unknown body field', method => 'POST', path => "$F/$k1id/enable",
        body => { bogus => 1 }, status => 422, ref => $k1);
refused(what => 'enable an unknown id', method => 'POST', path => "$F/999999999/enable", status => 404,
        ref => $k1);
refused(what => 'toggle an unknown key', method => 'PUT', path => "$F/toggle/$ghost", status => 404,
        ref => $k1);

# ======================================================================
# rollouts: POST {id}/rollout (fractional) and PUT rollout/{key}?percentage=
# ======================================================================
my $ro = fname('roll');
$res = req(POST => "$F$q", key => $w, body => { name => $ro, enabled => true_() });
my $roid = $res->{body}{id};
$res = req(POST => "$F/$roid/rollout", key => $w, body => '{"percentage": 50.0}');
is($res->{status}, 200, 'POST {id}/rollout {"percentage": 50.0}: 200') or diag($res->{raw});
is($res->{body}{rollout_percentage}, 50, 'the flag shows rollout_percentage 50');
is_deeply(eval_users($ro, \@users), rollout_expect($ro, 50, \@users), '50.0%: exactly the users with bucket <= 50');
$res = req(PUT => "$F/rollout/$ro?percentage=12.5", key => $w);
is($res->{status}, 200, 'PUT rollout/{key}?percentage=12.5: 200') or diag($res->{raw});
is($res->{body}{rollout_percentage}, 12.5, 'rollout_percentage 12.5');
is_deeply(eval_users($ro, \@users), rollout_expect($ro, 12.5, \@users), '12.5%: exactly the users with bucket <= 12.5');
$res = req(POST => "$F/$roid/rollout?percentage=100", key => $w);
is($res->{status}, 200, 'rollout ?percentage=100: 200') or diag($res->{raw});
is_deeply(eval_users($ro, \@users), { map { $_ => [1, 'STATIC'] } @users }, '100%: everyone, STATIC (no split)');
$res = req(POST => "$F/$roid/rollout", key => $w, body => { rollout_percentage => 0 });
is($res->{status}, 200, 'rollout {"rollout_percentage": 0}: 200') or diag($res->{raw});
is_deeply(eval_users($ro, \@users), { map { $_ => [0, 'DEFAULT'] } @users }, '0%: nobody, DEFAULT');
refused(what => "rollout $_->[0]", method => $_->[1], path => $_->[2], (defined $_->[3] ? (body => $_->[3]) : ()),
        status => 422, ref => $ro)
  for (['101 (body)', 'POST', "$F/$roid/rollout", { percentage => 101 }],
       ['?percentage=101', 'PUT', "$F/rollout/$ro?percentage=101"],
       ['?percentage=100.5', 'PUT', "$F/rollout/$ro?percentage=100.5"],
       ['?percentage=-1', 'PUT', "$F/rollout/$ro?percentage=-1"],
       ['?percentage=abc', 'PUT', "$F/rollout/$ro?percentage=abc"],
       ['without a percentage', 'PUT', "$F/rollout/$ro"],
       ['{"percentage": "fifty"}', 'POST', "$F/$roid/rollout", { percentage => 'fifty' }],
       ['{"percentage": true}', 'POST', "$F/$roid/rollout", { percentage => true_() }],
       ['with an unknown field', 'POST', "$F/$roid/rollout", { percent => 50 }],
       ['with a body that is not an object', 'POST', "$F/$roid/rollout", [50]]);
refused(what => 'rollout of an unknown key', method => 'PUT', path => "$F/rollout/$ghost?percentage=5", status => 404,
        ref => $ro);
refused(what => 'rollout with a stale If-Match', method => 'PUT', path => "$F/rollout/$ro?percentage=5",
        headers => { 'if-match' => '"1"' }, status => 412, ref => $ro);
refused(what => 'PUT rollout_percentage 101', method => 'PUT', path => "$F/$roid", body => { rollout_percentage => 101 },
        status => 422, ref => $ro);
refused(what => 'PUT rollout_percentage "50"', method => 'PUT', path => "$F/$roid", body => { rollout_percentage => '50' },
        status => 422, ref => $ro);

# ======================================================================
# environment and tenant overrides
# ======================================================================
my $ov = fname('over');
$res = req(POST => "$F$q", key => $w, body => {
    name => $ov, enabled => false_(),
    environment_overrides => { production => { enabled => true_() } },
    tenant_overrides => { 'premium-tenant' => { enabled => true_(), target_users => ['alice'] }, basic => false_() } });
is($res->{status}, 201, 'create with environment_overrides and tenant_overrides: 201') or diag($res->{raw});
my $ovid = $res->{body}{id};
is(reason_of($ov), 'off DISABLED', 'base: off');
is(reason_of($ov, environment => 'production'), 'on STATIC', 'environment production: on');
is(reason_of($ov, environment => 'staging'), 'off DISABLED', 'another environment: the base');
is(reason_of($ov, tenant_id => 'premium-tenant', user_id => 'alice'), 'on TARGETING_MATCH', 'premium tenant, target user');
is(reason_of($ov, tenant_id => 'premium-tenant', user_id => 'bob'), 'off DEFAULT', 'premium tenant, another user');
is(reason_of($ov, tenant_id => 'basic', environment => 'production'), 'off DISABLED', 'a tenant override wins over the environment');
is(reason_of($ov, tenant_id => 'nobody', environment => 'production'), 'on STATIC', 'an unknown tenant: the environment');
$res = req(POST => "/ofrep/v1/evaluate/flags/$ov", key => $w, body => { context => { environment => 'production' } });
is_deeply([$res->{body}{value}, $res->{body}{reason}], [JSON::PP::true, 'STATIC'], 'OFREP: context.environment selects the override');
$res = req(POST => "/ofrep/v1/evaluate/flags/$ov", key => $w,
           body => { context => { tenantId => 'premium-tenant', targetingKey => 'alice' } });
is_deeply([$res->{body}{value}, $res->{body}{reason}], [JSON::PP::true, 'TARGETING_MATCH'],
          'OFREP: context.tenantId selects the tenant, targetingKey is the user');
# a rollout inside an environment: bucketed by the flag's name like any other
$res = req(PUT => "$F/$ovid", key => $w, body => { environment => 'production', rollout_percentage => 40 });
is($res->{status}, 200, 'PUT {environment, rollout_percentage}: 200') or diag($res->{raw});
ok(!$res->{body}{enabled}, 'the base is untouched');
is_deeply(eval_users($ov, \@users, environment => 'production'), rollout_expect($ov, 40, \@users),
          'production 40%: exactly the users with bucket("<name>:<user>") <= 40');
is_deeply(eval_users($ov, \@users), { map { $_ => [0, 'DISABLED'] } @users }, 'without the environment: off for everyone');
$res = req(POST => "$F/$ovid/rollout?environment=production", key => $w, body => { percentage => 30 });
is($res->{status}, 200, 'POST {id}/rollout?environment=production: 200') or diag($res->{raw});
is_deeply(eval_users($ov, \@users, environment => 'production'), rollout_expect($ov, 30, \@users),
          'production 30%: exactly the users with bucket <= 30');
$res = req(POST => "$F/$ovid/disable?environment=production", key => $w);
is($res->{status}, 200, 'disable ?environment=production: 200');
is(reason_of($ov, environment => 'production', user_id => 'x'), 'off DISABLED', 'production off');
refused(what => 'environment_overrides that is not an object', method => 'PUT', path => "$F/$ovid",
        body => { environment_overrides => [1] }, status => 422, ref => $ov);
refused(what => 'tenant_overrides with a bad layer', method => 'PUT', path => "$F/$ovid",
        body => { tenant_overrides => { t => 5 } }, status => 422, ref => $ov);
refused(what => 'an override with an unknown field', method => 'PUT', path => "$F/$ovid",
        body => { environment_overrides => { production => { enabled => true_(), bogus => 1 } } },
        status => 422, ref => $ov);

# ======================================================================
# versions and rollback
# ======================================================================
my $vf = fname('vers');
$res = req(POST => "$F$q", key => $w, body => { name => $vf, enabled => false_(), description => 'v1' });
my $vfid = $res->{body}{id};
my $v1def = $res->{body}{definition};
req(PUT => "$F/$vfid", key => $w, body => { enabled => true_(), description => 'v2' });
$res = req(PUT => "$F/$vfid", key => $w, body => { rollout_percentage => 10 });
is($res->{body}{version}, 3, 'three versions written');
my $v3def = $res->{body}{definition};
$res = req(GET => "$F/$vfid/versions", key => $w);
is($res->{status}, 200, 'versions: 200');
is($res->{body}{id}, $vfid, 'versions: id');
is($res->{body}{name}, $vf, 'versions: name');
is_deeply([map { $_->{version} } @{ $res->{body}{items} }], [1, 2, 3], 'versions: every version, oldest first');
is_deeply([map { $_->{operation} } @{ $res->{body}{items} }], ['create', 'update', 'update'], 'versions: operations');
is_deeply([map { $_->{description} } @{ $res->{body}{items} }], ['v1', 'v2', 'v2'], 'versions: descriptions');
is_deeply($res->{body}{items}[0]{definition}, $v1def, 'versions: the definition of version 1');
is_deeply($res->{body}{items}[2]{definition}, $v3def, 'versions: the definition of version 3');
refused(what => 'rollback to a missing version', method => 'POST', path => "$F/$vfid/rollback/99", status => 404,
        ref => $vf);
refused(what => 'rollback to a non-number', method => 'POST', path => "$F/$vfid/rollback/x", status => 400,
        ref => $vf);
refused(what => 'rollback with a stale If-Match', method => 'POST', path => "$F/$vfid/rollback/1",
        headers => { 'if-match' => '"2"' }, status => 412, ref => $vf);
refused(what => 'rollback of an unknown flag', method => 'POST', path => "$F/999999999/rollback/1", status => 404,
        ref => $vf);
$res = req(POST => "$F/$vfid/rollback/1", key => $w, headers => { 'if-match' => '"3"' });
is($res->{status}, 200, 'rollback to version 1: 200');
is($res->{body}{version}, 4, 'rollback: a new version 4');
is($res->{headers}{etag}, '"4"', 'rollback: its ETag');
is_deeply($res->{body}{definition}, $v1def, 'rollback: the definition of version 1');
is($res->{body}{description}, 'v1', 'rollback: the description of version 1');
is(reason_of($vf, user_id => 'x'), 'off DISABLED', 'rollback: evaluation follows version 1');
is(scalar @{ req(GET => "$F/$vfid/versions", key => $w)->{body}{items} }, 4, 'rollback is in the history');
is(req(GET => "$F/999999999/versions", key => $w)->{status}, 404, 'versions of an unknown id: 404');

# ======================================================================
# import of an Unleash client API document, then evaluation
# ======================================================================
my ($ir, $ic, $io) = (fname('imp-roll'), fname('imp-country'), fname('imp-off'));
my $grp = fname('grp');
my $doc = {
    version  => 2,
    features => [
        { name => $ir, enabled => true_(), project => 'ignored', description => 'imported rollout',
          strategies => [{ name => 'flexibleRollout', constraints => [],
                           parameters => { rollout => '25', stickiness => 'userId', groupId => $grp } }] },
        { name => $ic, enabled => true_(),
          strategies => [{ name => 'default', constraints => [{ contextName => 'country', operator => 'IN', values => ['NL'] }] }],
          variants => [{ name => 'blue', weight => 1000, weightType => 'variable', stickiness => 'default',
                         payload => { type => 'string', value => 'b' } }] },
        { name => $io, enabled => false_(), strategies => [{ name => 'default' }] },
    ],
};
$res = req(POST => "$F/import$q", key => $w, body => $doc);
is($res->{status}, 200, 'import: 200') or diag($res->{raw});
is($res->{body}{flags_created}, 3, 'import: three flags created');
$res = flag($ir);
is($res->{status}, 200, 'an imported flag reads by name');
is($res->{body}{namespace}, $ns, 'import: ?namespace= wins over the project');
is($res->{body}{description}, 'imported rollout', 'import: description');
is_deeply(eval_users($ir, \@users), rollout_expect($grp, 25, \@users),
          'imported flexibleRollout: exactly the users with bucket("<groupId>:<userId>") <= 25');
$res = req(POST => "$F/evaluate", key => $w, body => { name => $ic, context => { country => 'NL', userId => 'x' } });
is_deeply([@{ $res->{body} }{qw(enabled reason variant)}], [JSON::PP::true, 'TARGETING_MATCH', 'blue'],
          'imported constraint: NL matches, with its variant');
is_deeply($res->{body}{payload}, { type => 'string', value => 'b' }, 'the variant\'s payload');
is(reason_of($ic, context => { country => 'DE' }), 'off DEFAULT', 'imported constraint: DE does not');
is(reason_of($io), 'off DISABLED', 'imported disabled flag');
$res = req(POST => "$F/import$q", key => $w, body => $doc);
is($res->{body}{flags_unchanged}, 3, 'the same import again changes nothing');
is(flag($ir)->{body}{version}, 1, 'no new version');
my $ix = fname('imp-never');
refused(what => 'import a document that is not an object', method => 'POST', path => "$F/import$q", body => [$doc],
        status => 422);
refused(what => 'import with an unknown event type', method => 'POST', path => "$F/import$q",
        body => { events => [{ type => 'hydration', features => [{ name => $ix, enabled => true_() }] }, { type => 'bogus' }] },
        status => 422, absent => $ix);
refused(what => 'import a feature without a name', method => 'POST', path => "$F/import$q",
        body => { features => [{ name => $ix, enabled => true_() }, { enabled => true_() }] }, status => 422, absent => $ix);
refused(what => 'import into a namespace the writer may not write', method => 'POST', path => "$F/import?namespace=$other",
        body => { features => [{ name => $ix, enabled => true_() }] }, status => 403, absent => $ix);

# ======================================================================
# bulk evaluation
# ======================================================================
my $ctx = { userId => 'user-7', country => 'NL' };
$res = req(POST => "$F/evaluate/bulk", key => $w, body => { names => [$ic, $ir, $ghost], context => $ctx });
is($res->{status}, 200, 'bulk with names: 200');
is_deeply([map { $_->{key} } @{ $res->{body}{results} }], [$ic, $ir, $ghost], 'bulk: one result per name, in order');
for my $i (0, 1) {
    my $n = ($ic, $ir)[$i];
    my $one = req(POST => "$F/evaluate", key => $w, body => { name => $n, context => $ctx })->{body};
    is_deeply([@{ $res->{body}{results}[$i] }{qw(enabled reason variant value)}], [@{$one}{qw(enabled reason variant value)}],
              "bulk: $n as evaluated alone");
}
is($res->{body}{results}[2]{error_code}, 'FLAG_NOT_FOUND', 'bulk: an unknown name is FLAG_NOT_FOUND');
is_deeply([sort keys %{ $res->{body}{flags} }], [sort $ic, $ir, $ghost], 'bulk: the flags map by key');
$res = req(POST => "$F/evaluate/bulk", key => $w, body => { context => $ctx, environment => 'production' });
is($res->{status}, 200, 'bulk of all flags: 200');
my @live = map { $_->{name} } @{ req(GET => "$F$q&limit=1000", key => $w)->{body}{items} };
is_deeply(set_of(map { $_->{key} } @{ $res->{body}{results} }), set_of(@live),
          'bulk of all: exactly the live flags the principal may read');
is($res->{body}{environment}, 'production', 'bulk: environment echoed');
is_deeply(eval_users($ov, ['user-7'], environment => 'production')->{'user-7'},
          [map { $_->{key} eq $ov ? (($_->{enabled} ? 1 : 0), $_->{reason}) : () } @{ $res->{body}{results} }],
          'bulk of all applies the environment');
$res = req(POST => "$F/evaluate/bulk", key => $w, body => { flag_names => [$ic], user_id => 'u' });
is($res->{body}{results}[0]{key}, $ic, 'bulk with seed-style flag_names and user_id');
refused(what => "bulk $_->[0]", method => 'POST', path => "$F/evaluate/bulk", body => $_->[1], status => 422)
  for (['names not an array', { names => $ic }], ['names of numbers', { names => [1] }],
       ['an unknown field', { bogus => 1 }], ['a context that is not an object', { context => [1] }],
       ['a body that is not an object', [$ic]]);

# ======================================================================
# OFREP: POST /ofrep/v1/evaluate/flags/{key}
# ======================================================================
my $O = '/ofrep/v1/evaluate/flags';
sub only_keys { my ($h, @allowed) = @_; my %a = map { $_ => 1 } @allowed; return [grep { !$a{$_} } sort keys %$h] }
$res = req(POST => "$O/$a1", key => $w, body => { context => { targetingKey => 'u' } });
is($res->{status}, 200, 'OFREP: 200');
like($res->{headers}{'content-type'} // '', qr{^application/json}, 'OFREP: JSON');
is_deeply(only_keys($res->{body}, qw(key value reason variant metadata)), [], 'OFREP success: {key, value, reason, variant?, metadata}');
is($res->{body}{key}, $a1, 'OFREP: key');
ok(JSON::PP::is_bool($res->{body}{value}) && $res->{body}{value}, 'OFREP: value true (a JSON boolean)');
is($res->{body}{reason}, 'STATIC', 'OFREP: reason');
is(ref $res->{body}{metadata}, 'HASH', 'OFREP: metadata is an object');
ok(!grep({ ref $res->{body}{metadata}{$_} && !JSON::PP::is_bool($res->{body}{metadata}{$_}) } keys %{ $res->{body}{metadata} }),
   'OFREP: metadata values are primitives (OpenFeature flag metadata)');
$res = req(POST => "$O/$ro", key => $w, body => {});
is($res->{status}, 200, 'OFREP without a context: 200');
{
    # a string flag with two variants: the variant is decided by bucket(<name>:<user>, 86028157, 1000)
    my $sv = fname('ofrep-str');
    $res = req(POST => "$F$q", key => $w, body => {
        name => $sv, enabled => true_(), value_type => 'string', default_value => 'off',
        variants => [{ name => 'red', weight => 500, value => 'R' }, { name => 'green', weight => 500, value => 'G' }] });
    is($res->{status}, 201, 'a string flag with variants: 201') or diag($res->{raw});
    my $vb = buckets($sv, \@users, 86028157, 1000);
    my (%got, %want);
    for my $u (@users) {
        my $e = req(POST => "$O/$sv", key => $w, body => { context => { targetingKey => $u } })->{body};
        $got{$u} = join ' ', map { $_ // '-' } @{$e}{qw(value variant reason)};
        $want{$u} = $vb->{$u} <= 500 ? 'R red SPLIT' : 'G green SPLIT';
    }
    is_deeply(\%got, \%want, 'OFREP variants: red when bucket(<name>:<targetingKey>, 86028157, 1000) <= 500, else green');
    req(POST => "$F/$sv/disable", key => $w);
    $res = req(POST => "$O/$sv", key => $w, body => { context => { targetingKey => 'u' } });
    is_deeply([@{ $res->{body} }{qw(value reason)}], ['off', 'DISABLED'], 'OFREP: a disabled string flag serves its default_value');
    ok(!defined $res->{body}{variant}, 'OFREP: no variant when disabled');
}
$res = req(POST => "$O/$ghost", key => $w, body => { context => {} });
is($res->{status}, 404, 'OFREP unknown flag: 404');
is($res->{body}{key}, $ghost, 'OFREP 404: key');
is($res->{body}{errorCode}, 'FLAG_NOT_FOUND', 'OFREP 404: errorCode FLAG_NOT_FOUND');
is_deeply(only_keys($res->{body}, qw(key errorCode errorDetails)), [], 'OFREP 404: {key, errorCode, errorDetails}');
for my $case (['[1]', '{"context": [1]}'], ['"x"', '{"context": "x"}'], ['null', '{"context": null}']) {
    $res = req(POST => "$O/$a1", key => $w, body => $case->[1]);
    is($res->{status}, 400, "OFREP context $case->[0]: 400");
    is_deeply([@{ $res->{body} // {} }{qw(key errorCode)}], [$a1, 'INVALID_CONTEXT'], "OFREP context $case->[0]: INVALID_CONTEXT with key");
}
$res = req(POST => "$O/$a1", key => $w, body => '{"context": ');
is($res->{status}, 400, 'OFREP malformed JSON: 400');
is_deeply([@{ $res->{body} // {} }{qw(key errorCode)}], [$a1, 'PARSE_ERROR'], 'OFREP malformed JSON: PARSE_ERROR with key');
ok(defined $res->{body}{errorDetails}, 'OFREP malformed JSON: errorDetails');
$res = req(POST => "$O/$a1", key => $w, body => '[1]');
is_deeply([$res->{status}, @{ $res->{body} // {} }{qw(key errorCode)}], [400, $a1, 'PARSE_ERROR'], 'OFREP body not an object: 400 PARSE_ERROR');
$res = req(POST => "$O/$a1", body => { context => {} });
is($res->{status}, 401, 'OFREP without a key: 401');
is_deeply([@{ $res->{body} // {} }{qw(key errorCode)}], [$a1, 'GENERAL'], 'OFREP 401: the body has key and errorCode');
like($res->{headers}{'www-authenticate'} // '', qr/ApiKey/, 'OFREP 401: WWW-Authenticate');
$res = req(POST => "$O/$a1", key => $w, body => '{"context": {}}', type => 'text/plain');
is($res->{status}, 415, 'OFREP wrong content type: 415');
is_deeply([@{ $res->{body} // {} }{qw(key errorCode)}], [$a1, 'PARSE_ERROR'], 'OFREP 415 (from the shim): key and errorCode');
is(req(GET => "$O/$a1", key => $w)->{status}, 405, 'OFREP GET: 405');

# ======================================================================
# OFREP bulk: POST /ofrep/v1/evaluate/flags with ETag / If-None-Match
# ======================================================================
my $bctx = { context => { targetingKey => 'user-3', country => 'NL' } };
$res = req(POST => $O, key => $w, body => $bctx);
is($res->{status}, 200, 'OFREP bulk: 200');
my $etag = $res->{headers}{etag};
like($etag // '', qr/^(W\/)?"[^"]+"$/, 'OFREP bulk: an ETag');
is(ref $res->{body}{flags}, 'ARRAY', 'OFREP bulk: {flags: [...]}');
ok(!grep({ @{ only_keys($_, qw(key value reason variant metadata errorCode errorDetails)) } } @{ $res->{body}{flags} }),
   'OFREP bulk: every entry has the OFREP shape');
{
    my ($e) = grep { $_->{key} eq $ic } @{ $res->{body}{flags} };
    is_deeply([@{ $e // {} }{qw(value reason variant)}], [JSON::PP::true, 'TARGETING_MATCH', 'blue'], 'OFREP bulk: an entry evaluated in the context');
}
$res = req(POST => $O, key => $w, body => $bctx, headers => { 'if-none-match' => $etag });
is($res->{status}, 304, 'OFREP bulk with If-None-Match: the ETag: 304');
is($res->{raw} // '', '', 'OFREP bulk 304: empty body');
is($res->{headers}{etag}, $etag, 'OFREP bulk 304: the same ETag');
is(req(POST => $O, key => $w, body => $bctx, headers => { 'if-none-match' => "\"x\", $etag" })->{status}, 304,
   'OFREP bulk: If-None-Match with a list holding the ETag: 304');
req(PUT => "$F/toggle/$k1", key => $w);
$res = req(POST => $O, key => $w, body => $bctx, headers => { 'if-none-match' => $etag });
is($res->{status}, 200, 'OFREP bulk after a flag changed: 200 again');
isnt($res->{headers}{etag}, $etag, 'OFREP bulk: the ETag differs');
ok(scalar(@{ $res->{body}{flags} // [] }), 'OFREP bulk 200: has the flags');
my $etag2 = $res->{headers}{etag};
is(req(POST => $O, key => $w, body => $bctx, headers => { 'if-none-match' => $etag2 })->{status}, 304, 'and the new ETag gives 304');
$res = req(POST => $O, key => $w, body => { context => { targetingKey => 'someone-else', country => 'DE' } },
           headers => { 'if-none-match' => $etag2 });
is($res->{status}, 200, 'OFREP bulk: another context with other results: 200');
$res = req(POST => $O, key => $w, body => '{"context": [1]}');
is_deeply([$res->{status}, ($res->{body} // {})->{errorCode}], [400, 'INVALID_CONTEXT'], 'OFREP bulk: context not an object: 400 INVALID_CONTEXT');
$res = req(POST => $O, key => $w, body => '{"context": ');
is_deeply([$res->{status}, ($res->{body} // {})->{errorCode}], [400, 'PARSE_ERROR'], 'OFREP bulk: malformed JSON: 400 PARSE_ERROR');
$res = req(POST => $O, body => $bctx);
is_deeply([$res->{status}, exists(($res->{body} // {})->{errorCode}) ? 1 : 0], [401, 1], 'OFREP bulk without a key: 401 with errorCode');

# ======================================================================
# bad input on create, update and evaluate: 4xx, and nothing changed
# ======================================================================
my $bad = fname('bad');
for my $case (['with an unknown field', { name => $bad, bogus => 1 }],
       ['with enabled "yes"', { name => $bad, enabled => 'yes' }],
       ['with enabled null', { name => $bad, enabled => undef }],
       ['with value_type null', { name => $bad, value_type => undef }],
       ['with rollout_percentage 101', { name => $bad, rollout_percentage => 101 }],
       ['with rollout_percentage -1', { name => $bad, rollout_percentage => -1 }],
       ['with rollout_percentage "50"', { name => $bad, rollout_percentage => '50' }],
       ['with target_users a string', { name => $bad, target_users => 'alice' }],
       ['with target_users of objects', { name => $bad, target_users => [{}] }],
       ['with tags a string', { name => $bad, tags => 'a' }],
       ['with an unknown value_type', { name => $bad, value_type => 'int' }],
       ['with a default_value of the wrong type', { name => $bad, value_type => 'string', default_value => 5 }],
       ['with a variant value of the wrong type', { name => $bad, value_type => 'number',
                                                   variants => [{ name => 'a', weight => 1, value => 'x' }] }],
       ['with a rule without operator', { name => $bad, rules => [{ attribute => 'country' }] }],
       ['with an unknown strategy', { name => $bad, strategies => [{ name => 'nope' }] }],
       ['with an unknown operator', { name => $bad, strategies => [{ name => 'default',
                                       constraints => [{ contextName => 'a', operator => 'LIKE', values => ['x'] }] }] }],
       ['with expires_at not a date', { name => $bad, expires_at => 'soon' }],
       ['with is_enabled and enabled disagreeing', { name => $bad, enabled => true_(), is_enabled => false_() }],
       ['with a bad namespace', { name => $bad, namespace => 'bad ns!' }],
       ['with description a number', { name => $bad, description => 5 }],
       ['without a name', { enabled => true_() }],
       ['with a name that is a number', { name => 5 }],
       ['that is an array', [{ name => $bad }]],
       ['that is a string', '"x"'],
       ['that is malformed JSON', '{"name": ', 400]) {
    # each case under a fresh name, so that one wrongly accepted cannot hide the next
    my ($what, $body, $status) = @$case;
    my $n = fname('bad');
    $body = json_body($body) if ref $body;
    $body =~ s/\Q$bad\E/$n/g;
    refused(what => "create $what", method => 'POST', path => "$F$q", body => $body, status => $status // 422,
            absent => $n);
}
$bad = fname('bad');
refused(what => 'create sent as text/plain', method => 'POST', path => "$F$q", body => json_body({ name => $bad }),
        type => 'text/plain', status => 415, absent => $bad);
refused(what => 'create with an empty name', method => 'POST', path => "$F$q", body => { name => '' }, status => 422);
refused(what => 'create with a control character in the name', method => 'POST', path => "$F$q",
        body => { name => "$bad\x01" }, status => 422);
my $long = 'n' x 256;
refused(what => 'create with a 256-byte name', method => 'POST', path => "$F$q", body => { name => $long },
        status => 422, absent => $long);
refused(what => 'create with a 128-character, 256-byte name', method => 'POST', path => "$F$q",
        body => '{"name": "' . ('\u00e9' x 128) . '"}', status => 422, absent => "\x{e9}" x 128);
my $max = substr(fname('m') . ('m' x 255), 0, 255);
$res = req(POST => "$F$q", key => $w, body => { name => $max });
is($res->{status}, 201, 'a 255-byte name is accepted');
is(req(GET => "$F/name/$max", key => $w)->{status}, 200, 'and reads back');
refused(what => 'create with a description over 4096 bytes', method => 'POST', path => "$F$q",
        body => { name => $bad, description => 'd' x 4097 }, status => 422, absent => $bad);

refused(what => "PUT $_->[0]", method => 'PUT', path => "$F/$a1id", body => $_->[1], status => $_->[2] // 422,
        ref => $a1)
  for (['with an unknown field', { bogus => 1 }],
       ['renaming the flag', { name => 'renamed' }],
       ['with enabled "yes"', { enabled => 'yes' }],
       ['with enabled null', { enabled => undef }],
       ['with rollout_percentage 101', { rollout_percentage => 101 }],
       ['with tags of numbers', { tags => [1] }],
       ['with description a number', { description => 5 }],
       ['with value_type "int"', { value_type => 'int' }],
       ['with strategies not an array', { strategies => {} }],
       ['with a namespace it may not write', { namespace => $other }, 403],
       ['with a bad namespace', { namespace => 'bad ns!' }],
       ['that is an array', [1]],
       ['that is null', 'null'],
       ['that is malformed JSON', '{"enabled": ', 400]);

refused(what => "evaluate $_->[0]", method => 'POST', path => "$F/evaluate", body => $_->[1], status => $_->[2] // 422,
        ref => $a1)
  for (['with an unknown field', { name => $a1, bogus => 1 }],
       ['with context a string', { name => $a1, context => 'x' }],
       ['with context an array', { name => $a1, context => [1] }],
       ['with name a number', { name => 5 }],
       ['without a name', { context => {} }],
       ['with tenant_id a number', { name => $a1, tenant_id => 5 }],
       ['with an unknown expected_type', { name => $a1, expected_type => 'int' }],
       ['that is an array', [$a1]],
       ['that is malformed JSON', '{"name": ', 400]);
$res = req(POST => "$F/evaluate", key => $w, body => { name => $a1, expected_type => 'string' });
is_deeply([$res->{status}, @{ $res->{body} }{qw(error_code reason)}], [200, 'TYPE_MISMATCH', 'ERROR'],
          'evaluate a boolean flag as a string: TYPE_MISMATCH');

done_testing();

sub true_  { return JSON::PP::true }
sub false_ { return JSON::PP::false }
