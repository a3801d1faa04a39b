#!/usr/bin/env perl
# Seed 004's Feature Metadata Gateway through the real shim
# (sql/install/65_features.sql, sql/install/70_features_http.sql,
# docs/lifecycle.md): the seed's example payloads replayed in order, each
# with the key of the role the seed's table names (create, get by POST and
# GET, list with a status filter, update, ready_test, test, approve = approve
# and deploy, the deployed lists, batch values checked against
# metastore.feature_value and the documented murmur3 formula through psql),
# the failure / rejection / fix path with its per-action fields, deployed
# immutability and soft deletion, roles (a body's user_role must be held by
# the key; each action checks its own role), bad bodies, illegal transitions
# (409 MS423 naming the state) and authentication.  Every refused request is
# followed by a re-read: nothing changed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use B ();
use ShimTest;

# The principals hold exactly seed 004's lifecycle roles on "features" (no
# writer: the history and event rows of their changes are accepted for any
# lifecycle role); $strict_* hold one role alone as well.
my $devname = uniq('fdev');
my $dev  = principal_key($devname, ['features', 'developer']);
my $appr = principal_key(uniq('fappr'), ['features', 'approver']);
my $ets  = principal_key(uniq('fets'), ['features', 'external_testing_system']);
my $both = principal_key(uniq('fboth'), ['features', 'developer'], ['features', 'approver']);
my $wri  = principal_key(uniq('fwri'), ['features', 'writer']);
my $strict_dev  = principal_key(uniq('fsdev'), ['features', 'developer']);
my $strict_appr = principal_key(uniq('fsappr'), ['features', 'approver']);
my $strict_ets  = principal_key(uniq('fsets'), ['features', 'external_testing_system']);
my $adm  = principal_key(uniq('fadm'), ['features', 'admin']);
my $out  = principal_key(uniq('fout'), [uniq('fother'), 'writer']);

# percent-encode a path segment
sub enc { my $s = shift; $s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge; return $s }

# a feature name no other run uses, shaped like the seed's
sub fname { my $n = uniq(shift); $n =~ s/[^A-Za-z0-9_.:-]/-/g; return $n }

sub post { my ($path, $key, $body) = @_; return req(POST => $path, key => $key, body => $body) }

# the feature as the developer reads it
sub feat { return req(GET => '/get_feature_metadata/' . enc(shift), key => $dev) }

# everything stored about a feature name: its row (live or not), state and transitions
sub stored {
    my $n = shift;
    return psql(qq{SELECT coalesce((SELECT f::text FROM metastore.features f WHERE name = '$n'), '-')
                   || ' | ' || coalesce((SELECT e::text FROM metastore.machine_entities e WHERE machine = 'ml_feature' AND entity = '$n'), '-')
                   || ' | ' || (SELECT count(*) FROM metastore.machine_transitions WHERE machine = 'ml_feature' AND entity = '$n')});
}

# the actions a feature went through, in order
sub actions {
    my $n = shift;
    return [split /,/, psql(qq{SELECT string_agg(action || ':' || coalesce(from_state, '') || '>' || to_state, ',' ORDER BY id)
                                 FROM metastore.machine_transitions WHERE machine = 'ml_feature' AND entity = '$n'})];
}

# a JSON number (not a string) as JSON::PP decoded it
sub is_num {
    my $v = shift;
    return 0 if !defined $v || ref $v;
    my $f = B::svref_2object(\$v)->FLAGS;
    return ($f & (B::SVp_IOK | B::SVp_NOK)) && !($f & B::SVp_POK) ? 1 : 0;
}

# one refused request: its status and SQLSTATE, then nothing stored about the
# feature changed and it reads back the same
sub refused {
    my (%a) = @_;
    my $n = $a{name};
    my $before = feat($n);
    my $st = stored($n);
    my $res = req($a{method} // 'POST', $a{path}, (defined $a{key} ? (key => $a{key}) : ()),
                  (exists $a{body} ? (body => $a{body}) : ()));
    is($res->{status}, $a{status}, "$a{what}: $a{status}") or diag($res->{raw});
    is($res->{body}{code}, $a{code}, "$a{what}: code $a{code}") or diag($res->{raw}) if defined $a{code};
    like($res->{body}{message} // '', $a{message}, "$a{what}: the message") or diag($res->{raw}) if defined $a{message};
    my $now = feat($n);
    is_deeply([$now->{status}, $now->{body}, stored($n)], [$before->{status}, $before->{body}, $st],
              "$a{what}: nothing changed") or diag($now->{raw});
    return $res;
}

my $t0 = time() * 1000;

# ======================================================================
# lifecycle roles alone suffice (docs/security.md: developer, approver,
# external_testing_system are the roles of the gateway)
# ======================================================================
{
    my $n = fname('strict:roles');
    my $res = post('/create_feature_metadata', $strict_dev, { feature_name => $n, feature_type => 'batch',
                                                              feature_data_type => 'float', query => 'q', user_role => 'developer' });
    is($res->{status}, 201, 'create by a principal holding only developer on "features": 201') or diag($res->{raw});
    $res = post('/ready_test_feature_metadata', $strict_dev, { feature_name => $n, user_role => 'developer' });
    is($res->{body}{metadata}{status}, 'READY_FOR_TESTING', '... its ready_test: READY_FOR_TESTING') or diag($res->{raw});
    $res = post('/test_feature_metadata', $strict_ets, { feature_name => $n, test_result => 'TEST_SUCCEEDED' });
    is($res->{body}{metadata}{status}, 'TEST_SUCCEEDED', 'test by a principal holding only external_testing_system') or diag($res->{raw});
    $res = post('/approve_feature_metadata', $strict_appr, { feature_name => $n, user_role => 'approver' });
    is($res->{body}{metadata}{status}, 'DEPLOYED', 'approve by a principal holding only approver: DEPLOYED') or diag($res->{raw});
}

# ======================================================================
# seed 004, "Example Payloads", in order
# ======================================================================
my $conv = fname('driver_hourly_stats:conv_rate:1');
my $acc  = fname('driver_hourly_stats:acc_rate:2');

# Create Feature (developer)
my $res = post('/create_feature_metadata', $dev, <<"JSON");
{
  "feature_name": "$conv",
  "feature_type": "batch",
  "feature_data_type": "float",
  "query": "SELECT conv_rate FROM driver_hourly_stats WHERE driver_id = ?",
  "description": "Conversion rate for driver",
  "created_by": "dev",
  "user_role": "developer"
}
JSON
is($res->{status}, 201, 'seed create: 201');
is($res->{body}{message}, 'Feature created successfully', 'seed create: message as the seed\'s example response');
my $m = $res->{body}{metadata};
is_deeply([@$m{qw(feature_name feature_type feature_data_type query description status created_by)}],
          [$conv, 'batch', 'float', 'SELECT conv_rate FROM driver_hourly_stats WHERE driver_id = ?',
           'Conversion rate for driver', 'DRAFT', 'dev'],
          'seed create: the metadata as the seed\'s example response, status DRAFT, created_by dev');
ok(is_num($m->{created_time}) && $m->{created_time} >= $t0 - 5000 && $m->{created_time} <= time() * 1000 + 5000,
   'created_time is epoch milliseconds, now') or diag("created_time $m->{created_time}, t0 $t0");
is($m->{updated_time}, $m->{created_time}, 'updated_time = created_time on creation');
is($m->{version}, 1, 'version 1');
my $created = $m;

# the second feature of the seed's batch request, also created (not deployed)
$res = post('/create_feature_metadata', $dev, {
    feature_name => $acc, feature_type => 'batch', feature_data_type => 'float',
    query => 'SELECT acc_rate FROM driver_hourly_stats WHERE driver_id = ?', user_role => 'developer' });
is($res->{status}, 201, 'create the seed\'s second feature (acc_rate:2): 201');
is($res->{body}{metadata}{created_by}, $devname, 'created_by defaults to the principal');

# Get Feature Metadata (POST, and GET /get_feature_metadata/{name})
$res = post('/get_feature_metadata', $dev, <<"JSON");
{
  "feature_name": "$conv",
  "user_role": "developer"
}
JSON
is($res->{status}, 200, 'seed get (POST): 200');
is_deeply($res->{body}{metadata}, $created, 'seed get (POST): the created feature');
ok(defined $res->{body}{message}, 'seed get: {message, metadata}');
$res = req(GET => "/get_feature_metadata/$conv", key => $dev);
is($res->{status}, 200, 'GET /get_feature_metadata/{name} (unencoded colons): 200');
is_deeply($res->{body}{metadata}, $created, '... the created feature');
$res = req(GET => '/get_feature_metadata/' . enc($conv), key => $appr);
is($res->{status}, 200, 'GET /get_feature_metadata/{name} percent-encoded, as the approver: 200');
is_deeply($res->{body}{metadata}, $created, '... the created feature');
is(post('/get_feature_metadata', $appr, { feature_name => $conv, user_role => 'approver' })->{status}, 200,
   'get as the approver with user_role approver: 200');
is(post('/get_feature_metadata', $dev, { feature_name => fname('nope') })->{status}, 404, 'get of an unknown feature: 404');

# List All Features (with filter), the seed's body: status APPROVED
$res = post('/get_all_feature_metadata', $dev, <<'JSON');
{
  "user_role": "developer",
  "status": "APPROVED"
}
JSON
is($res->{status}, 200, 'seed list (status APPROVED): 200');
is($res->{body}{total}, scalar @{ $res->{body}{features} }, 'total counts the features');
ok(!grep({ $_->{feature_name} eq $conv } @{ $res->{body}{features} }), 'the DRAFT feature is not listed as APPROVED');
ok(!grep({ $_->{status} ne 'APPROVED' } @{ $res->{body}{features} }), 'every feature listed is APPROVED');
$res = post('/get_all_feature_metadata', $dev, { user_role => 'developer', status => 'DRAFT' });
is_deeply([grep { $_->{feature_name} eq $conv } @{ $res->{body}{features} }], [$created], 'status DRAFT lists it');
$res = req(GET => '/get_all_feature_metadata?status=DRAFT&created_by=dev', key => $appr);
is($res->{status}, 200, 'GET list ?status=DRAFT&created_by=dev: 200');
is_deeply([map { $_->{feature_name} } grep { $_->{feature_name} =~ /^\Q$conv\E$|^\Q$acc\E$/ } @{ $res->{body}{features} }],
          [$conv], 'the created_by filter keeps conv_rate (created_by dev), not acc_rate');
$res = req(GET => '/get_all_feature_metadata?feature_type=streaming', key => $dev);
ok(!grep({ $_->{feature_name} eq $conv } @{ $res->{body}{features} }), 'feature_type streaming does not list a batch feature');
is(req(GET => '/get_all_feature_metadata?colour=red', key => $dev)->{status}, 422, 'an unknown list filter: 422');
is(post('/get_all_feature_metadata', $dev, { colour => 'red' })->{status}, 422, 'an unknown field in the list body: 422');

# Batch Feature Value Retrieval, the seed's body, before anything is deployed
my $batch = <<"JSON";
{
  "features": ["$conv", "$acc"],
  "entities": {"driver_id": ["D001", "D002"]},
  "event_timestamp": 1751429485000
}
JSON
$res = post('/features', $dev, $batch);
is($res->{status}, 200, 'seed batch before deployment: 200');
is($res->{body}{features}{$conv}{status}, 'error', 'a DRAFT feature is reported as an error');
like($res->{body}{features}{$conv}{error} // '', qr/not deployed/, '... saying it is not deployed');

# Update Feature Metadata
$res = post('/update_feature_metadata', $dev, <<"JSON");
{
  "feature_name": "$conv",
  "last_updated_by": "dev",
  "user_role": "developer",
  "description": "Updated description"
}
JSON
is($res->{status}, 200, 'seed update: 200');
$m = $res->{body}{metadata};
is($m->{description}, 'Updated description', 'the description changed');
is($m->{version}, 2, 'the version went up');
is($m->{last_updated_by}, 'dev', 'last_updated_by');
is_deeply([@$m{qw(query feature_type feature_data_type status created_by created_time)}],
          [@$created{qw(query feature_type feature_data_type status created_by created_time)}],
          'the other fields are kept');
ok($m->{updated_time} >= $created->{updated_time}, 'updated_time does not go back');
is_deeply(feat($conv)->{body}{metadata}, $m, 'a re-read shows the update');

# Feature Workflow: ready_test (developer)
$res = post('/ready_test_feature_metadata', $dev, <<"JSON");
{
  "feature_name": "$conv",
  "submitted_by": "dev",
  "user_role": "developer"
}
JSON
is($res->{status}, 200, 'seed ready_test: 200');
is($res->{body}{metadata}{status}, 'READY_FOR_TESTING', 'status READY_FOR_TESTING');

# test (external_testing_system)
$res = post('/test_feature_metadata', $ets, <<"JSON");
{
  "feature_name": "$conv",
  "test_result": "TEST_SUCCEEDED",
  "tested_by": "qa",
  "user_role": "external_testing_system"
}
JSON
is($res->{status}, 200, 'seed test: 200');
is($res->{body}{metadata}{status}, 'TEST_SUCCEEDED', 'status TEST_SUCCEEDED');
is($res->{body}{metadata}{test_result}, 'TEST_SUCCEEDED', 'test_result is kept on the metadata');

# a developer may not approve (the approve route's role), nor claim to be an approver
refused(name => $conv, what => 'a developer approving', path => '/approve_feature_metadata', key => $dev,
        body => { feature_name => $conv, approved_by => 'dev' }, status => 403, code => '42501');
refused(name => $conv, what => 'a developer approving with user_role approver (not held by the key)',
        path => '/approve_feature_metadata', key => $dev,
        body => { feature_name => $conv, approved_by => 'approver', user_role => 'approver' }, status => 403, code => '42501');
refused(name => $conv, what => 'an approver approving with user_role developer (not held by the key)',
        path => '/approve_feature_metadata', key => $appr,
        body => { feature_name => $conv, approved_by => 'approver', user_role => 'developer' }, status => 403, code => '42501');
refused(name => $conv, what => 'the testing system approving', path => '/approve_feature_metadata', key => $ets,
        body => { feature_name => $conv, user_role => 'external_testing_system' }, status => 403, code => '42501');
refused(name => $conv, what => 'an admin of "features" approving (admin implies no lifecycle role)',
        path => '/approve_feature_metadata', key => $adm, body => { feature_name => $conv }, status => 403, code => '42501');

# approve (approver): approve and deploy
$res = post('/approve_feature_metadata', $appr, <<"JSON");
{
  "feature_name": "$conv",
  "approved_by": "approver",
  "user_role": "approver"
}
JSON
is($res->{status}, 200, 'seed approve: 200');
is($res->{body}{metadata}{status}, 'DEPLOYED', 'approve deploys (seed 004: "Approve and deploy")');
is_deeply(actions($conv), ['create:>DRAFT', 'ready_test:DRAFT>READY_FOR_TESTING', 'test_succeeded:READY_FOR_TESTING>TEST_SUCCEEDED',
                           'approve:TEST_SUCCEEDED>APPROVED', 'deploy:APPROVED>DEPLOYED'],
          'the transitions: create, ready_test, test_succeeded, approve, deploy');
is(psql(qq{SELECT string_agg(actor, ',' ORDER BY id) FROM metastore.machine_transitions WHERE machine = 'ml_feature' AND entity = '$conv'}),
   'dev,dev,qa,approver,approver', 'each transition records the actor the body named');
my $deployed = feat($conv)->{body}{metadata};
is($deployed->{status}, 'DEPLOYED', 'a re-read: DEPLOYED');

# the deployed lists
$res = req(GET => '/get_deployed_features', key => $dev);
is($res->{status}, 200, 'GET /get_deployed_features: 200');
is_deeply([grep { $_->{feature_name} eq $conv } @{ $res->{body}{features} }], [$deployed], 'it lists the deployed feature');
ok(!grep({ $_->{feature_name} eq $acc } @{ $res->{body}{features} }), 'not the DRAFT one');
ok(!grep({ $_->{status} ne 'DEPLOYED' } @{ $res->{body}{features} }), 'only DEPLOYED features');
is($res->{body}{total}, scalar @{ $res->{body}{features} }, 'total');
$res = req(GET => '/features/available', key => $appr);
is($res->{status}, 200, 'GET /features/available: 200');
ok((grep { $_ eq $conv } @{ $res->{body}{available_features} }), 'it names the deployed feature');
ok(!(grep { $_ eq $acc } @{ $res->{body}{available_features} }), 'not the DRAFT one');
is($res->{body}{total}, scalar @{ $res->{body}{available_features} }, 'total');

# Batch Feature Value Retrieval, the seed's body again: one value per entity
$res = post('/features', $dev, $batch);
is($res->{status}, 200, 'seed batch with one feature deployed: 200 (the other is reported, not a failure)');
my $b = $res->{body};
is($b->{event_timestamp}, 1751429485000, 'event_timestamp echoed');
is_deeply($b->{entities}, [{ driver_id => 'D001' }, { driver_id => 'D002' }], 'one entity per index');
is($b->{features}{$conv}{status}, 'ok', 'the deployed feature: ok');
is($b->{features}{$conv}{feature_data_type}, 'float', '... typed float');
my $vals = $b->{features}{$conv}{values};
is(scalar @{ $vals // [] }, 2, 'one value per entity');
ok(is_num($vals->[0]) && is_num($vals->[1]), 'the values are JSON numbers') or diag($res->{raw});
ok($vals->[0] >= 0 && $vals->[0] <= 100 && $vals->[1] >= 0 && $vals->[1] <= 100, 'floats in 0..100');
is($b->{features}{$acc}{status}, 'error', 'the DRAFT feature in the same request: status error');
like($b->{features}{$acc}{error} // '', qr/not deployed.*DRAFT/, '... naming its status');
ok(!exists $b->{features}{$acc}{values}, '... and no values');

# independent check: metastore.feature_value and the documented formula
for my $i (0, 1) {
    my $d = ('D001', 'D002')[$i];
    my $ent = qq({"driver_id": "$d"});
    my $fv = psql(qq{SELECT metastore.feature_value('$conv', 'float', '$ent', 1751429485000)});
    my $formula = psql(qq{SELECT round(metastore.bucket('$conv' || '|' || '$ent' || '|' || 1751429485000, 0, 1000000)::numeric / 10000, 4)});
    cmp_ok($vals->[$i], '==', $fv, "$d: the value is metastore.feature_value(feature, 'float', '$ent', ts)");
    cmp_ok($vals->[$i], '==', $formula, "$d: ... = round(bucket('feature|entity|ts', 0, 1000000) / 10000, 4)");
}
$res = post('/features', $appr, $batch);
is_deeply($res->{body}, $b, 'the same request again (as the approver): identical answer');
isnt($vals->[0], $vals->[1], 'different entities: different values');
$res = post('/features', $dev, { features => [$conv], entities => { driver_id => ['D001'] }, event_timestamp => 1751429485001 });
isnt($res->{body}{features}{$conv}{values}[0], $vals->[0], 'another event_timestamp: another value');
cmp_ok($res->{body}{features}{$conv}{values}[0], '==',
       psql(qq{SELECT metastore.feature_value('$conv', 'float', '{"driver_id": "D001"}', 1751429485001)}), '... the one feature_value computes');
$res = post('/features', $dev, { features => [$conv], entities => { driver_id => ['D001'] } });
is($res->{status}, 200, 'no event_timestamp: 200');
ok($res->{body}{event_timestamp} >= $t0 && $res->{body}{event_timestamp} <= time() * 1000 + 5000, '... now is used and echoed');
$res = post('/features', $dev, { features => [$conv, fname('unknown')], entities => { driver_id => ['D001'] }, event_timestamp => 1 });
is($res->{status}, 200, 'an unknown feature in the request: 200');
is($res->{body}{features}{$conv}{status}, 'ok', '... the deployed one is served');
is(scalar(grep { $_->{status} eq 'error' } values %{ $res->{body}{features} }), 1, '... the unknown one is an error entry');
$res = post('/features', $out, { features => [$conv], entities => { driver_id => ['D001'] }, event_timestamp => 1 });
ok($res->{status} != 200 || ($res->{body}{features}{$conv}{status} // '') eq 'error',
   'a key without a grant on "features" gets no values') or diag($res->{raw});
# bad batch bodies
is(post('/features', $dev, { features => [$conv], entities => { driver_id => ['D001'], x => ['a', 'b'] } })->{status}, 422,
   'entities of unequal lengths: 422');
is(post('/features', $dev, { features => [$conv] })->{status}, 422, 'no entities: 422');
is(post('/features', $dev, { features => [$conv], entities => { driver_id => ['D001'] }, colour => 1 })->{status}, 422, 'an unknown field: 422');
is(post('/features', $dev, { features => [map { "f$_" } 1 .. 101], entities => { driver_id => ['D001'] } })->{status}, 422,
   'more than 100 features: 422');
is(post('/features', $dev, { features => $conv, entities => { driver_id => ['D001'] } })->{status}, 422, 'features not an array: 422');
is(post('/features', $dev, { features => [$conv], entities => { driver_id => ['D001'] }, event_timestamp => 'soon' })->{status}, 422,
   'event_timestamp not epoch ms: 422');

# ======================================================================
# deployed features are immutable
# ======================================================================
refused(name => $conv, what => 'update of a DEPLOYED feature', path => '/update_feature_metadata', key => $dev,
        body => { feature_name => $conv, description => 'changed', user_role => 'developer' },
        status => 409, code => 'MS423', message => qr/DEPLOYED/);
refused(name => $conv, what => 'delete of a DEPLOYED feature', path => '/delete_feature_metadata', key => $dev,
        body => { feature_name => $conv, deleted_by => 'dev', user_role => 'developer', deletion_reason => 'No longer needed' },
        status => 409, code => 'MS423', message => qr/DEPLOYED/);
refused(name => $conv, what => 'fix of a DEPLOYED feature', path => '/fix_feature_metadata', key => $dev,
        body => { feature_name => $conv, fix_description => 'x' }, status => 409, code => 'MS423', message => qr/DEPLOYED/);
refused(name => $conv, what => 'approve of a DEPLOYED feature', path => '/approve_feature_metadata', key => $appr,
        body => { feature_name => $conv }, status => 409, code => 'MS423', message => qr/DEPLOYED/);
refused(name => $conv, what => 'create over a DEPLOYED feature\'s name', path => '/create_feature_metadata', key => $dev,
        body => { feature_name => $conv, feature_type => 'batch', feature_data_type => 'int', query => 'SELECT 1' },
        status => 409, code => 'MS423');

# ======================================================================
# deletion: the seed's body on a draft; soft, needs a reason, name not reused
# ======================================================================
my $del = fname('driver_hourly_stats:conv_rate:1');
is(post('/create_feature_metadata', $dev, { feature_name => $del, feature_type => 'streaming', feature_data_type => 'int',
                                            query => 'SELECT 1', user_role => 'developer' })->{status}, 201, 'create a draft to delete');
refused(name => $del, what => 'delete without deletion_reason', path => '/delete_feature_metadata', key => $dev,
        body => { feature_name => $del, deleted_by => 'dev', user_role => 'developer' }, status => 422, code => '22023');
refused(name => $del, what => 'delete with an empty deletion_reason', path => '/delete_feature_metadata', key => $dev,
        body => { feature_name => $del, deletion_reason => ' ' }, status => 422, code => '22023');
refused(name => $del, what => 'delete by the approver', path => '/delete_feature_metadata', key => $appr,
        body => { feature_name => $del, deletion_reason => 'x' }, status => 403, code => '42501');
$res = post('/delete_feature_metadata', $dev, <<"JSON");
{
  "feature_name": "$del",
  "deleted_by": "dev",
  "user_role": "developer",
  "deletion_reason": "No longer needed"
}
JSON
is($res->{status}, 200, 'seed delete of a draft: 200');
ok($res->{body}{metadata}{deleted}, 'the answer says deleted');
is($res->{body}{metadata}{deletion_reason}, 'No longer needed', '... with the reason');
is(feat($del)->{status}, 404, 'get after delete: 404');
is(post('/get_feature_metadata', $dev, { feature_name => $del })->{status}, 404, 'POST get after delete: 404');
is(psql(qq{SELECT deletion_reason || ' ' || (deleted_at IS NOT NULL) FROM metastore.features WHERE name = '$del'}),
   'No longer needed true', 'the row is kept (soft delete) with its reason');
ok(!grep({ $_->{feature_name} eq $del } @{ req(GET => '/get_all_feature_metadata', key => $dev)->{body}{features} }),
   'a deleted feature is not listed');
is(post('/update_feature_metadata', $dev, { feature_name => $del, description => 'x' })->{status}, 404, 'update after delete: 404');
is(post('/ready_test_feature_metadata', $dev, { feature_name => $del })->{status}, 404, 'ready_test after delete: 404');
is(post('/delete_feature_metadata', $dev, { feature_name => $del, deletion_reason => 'again' })->{status}, 404, 'delete again: 404');
$res = post('/create_feature_metadata', $dev, { feature_name => $del, feature_type => 'batch', feature_data_type => 'int', query => 'SELECT 1' });
is($res->{status}, 409, 'a deleted feature\'s name is not reused: 409') or diag($res->{raw});
is($res->{body}{code}, 'MS423', '... MS423');

# ======================================================================
# the second path: fail, fix, succeed, reject, fix, succeed, approve
# ======================================================================
my $p2 = fname('driver_hourly_stats:acc_rate:3');
$res = post('/create_feature_metadata', $dev, { feature_name => $p2, feature_type => 'on_demand', feature_data_type => 'int',
                                                query => 'SELECT acc FROM t', description => 'second path', user_role => 'developer' });
is($res->{status}, 201, 'path 2 create: 201');
is($res->{body}{metadata}{status}, 'DRAFT', 'DRAFT');

# illegal transitions from DRAFT
for my $c (['approve', $appr, {}], ['reject', $appr, { rejection_reason => 'r' }], ['test', $ets, { test_result => 'TEST_SUCCEEDED' }],
           ['fix', $dev, { fix_description => 'f' }]) {
    my ($route, $key, $extra) = @$c;
    refused(name => $p2, what => "$route of a DRAFT feature", path => "/${route}_feature_metadata", key => $key,
            body => { feature_name => $p2, %$extra }, status => 409, code => 'MS423', message => qr/DRAFT/);
}

$res = post('/ready_test_feature_metadata', $dev, { feature_name => $p2, submitted_by => 'dev', user_role => 'developer' });
is($res->{body}{metadata}{status}, 'READY_FOR_TESTING', 'path 2 ready_test: READY_FOR_TESTING');
refused(name => $p2, what => 'ready_test twice', path => '/ready_test_feature_metadata', key => $dev,
        body => { feature_name => $p2 }, status => 409, code => 'MS423', message => qr/READY_FOR_TESTING/);
refused(name => $p2, what => 'a developer recording a test result', path => '/test_feature_metadata', key => $dev,
        body => { feature_name => $p2, test_result => 'TEST_SUCCEEDED' }, status => 403, code => '42501');
refused(name => $p2, what => 'a developer claiming external_testing_system', path => '/test_feature_metadata', key => $dev,
        body => { feature_name => $p2, test_result => 'TEST_SUCCEEDED', user_role => 'external_testing_system' }, status => 403, code => '42501');
refused(name => $p2, what => 'a test_result that is not one', path => '/test_feature_metadata', key => $ets,
        body => { feature_name => $p2, test_result => 'PASSED' }, status => 422, code => '22023');
refused(name => $p2, what => 'a test without test_result', path => '/test_feature_metadata', key => $ets,
        body => { feature_name => $p2, tested_by => 'qa' }, status => 422, code => '22023');

$res = post('/test_feature_metadata', $ets, { feature_name => $p2, test_result => 'TEST_FAILED', tested_by => 'qa',
                                              user_role => 'external_testing_system' });
is($res->{status}, 200, 'path 2 test TEST_FAILED: 200');
is($res->{body}{metadata}{status}, 'TEST_FAILED', 'status TEST_FAILED');
is($res->{body}{metadata}{test_result}, 'TEST_FAILED', 'test_result TEST_FAILED on the metadata');
refused(name => $p2, what => 'approve after a failed test', path => '/approve_feature_metadata', key => $appr,
        body => { feature_name => $p2 }, status => 409, code => 'MS423', message => qr/TEST_FAILED/);
refused(name => $p2, what => 'fix without fix_description', path => '/fix_feature_metadata', key => $dev,
        body => { feature_name => $p2, fixed_by => 'dev' }, status => 422, code => '22023');
refused(name => $p2, what => 'fix with an empty fix_description', path => '/fix_feature_metadata', key => $dev,
        body => { feature_name => $p2, fix_description => '' }, status => 422, code => '22023');
refused(name => $p2, what => 'fix by the approver', path => '/fix_feature_metadata', key => $appr,
        body => { feature_name => $p2, fix_description => 'x' }, status => 403, code => '42501');

# Fix (the seed's body)
$res = post('/fix_feature_metadata', $dev, <<"JSON");
{
  "feature_name": "$p2",
  "fixed_by": "dev",
  "user_role": "developer",
  "fix_description": "Fixed SQL bug"
}
JSON
is($res->{status}, 200, 'seed fix after TEST_FAILED: 200');
is($res->{body}{metadata}{status}, 'DRAFT', 'back to DRAFT');
is($res->{body}{metadata}{fix_description}, 'Fixed SQL bug', 'fix_description on the metadata');
is(post('/update_feature_metadata', $dev, { feature_name => $p2, query => 'SELECT acc FROM t2' })->{body}{metadata}{query},
   'SELECT acc FROM t2', 'a fixed draft can be updated');
is(post('/ready_test_feature_metadata', $dev, { feature_name => $p2 })->{body}{metadata}{status}, 'READY_FOR_TESTING', 'ready_test again');
is(post('/test_feature_metadata', $ets, { feature_name => $p2, test_result => 'TEST_SUCCEEDED', test_notes => 'green' })->{body}{metadata}{status},
   'TEST_SUCCEEDED', 'test succeeded');
is(feat($p2)->{body}{metadata}{test_notes}, 'green', 'test_notes kept');
refused(name => $p2, what => 'reject without rejection_reason', path => '/reject_feature_metadata', key => $appr,
        body => { feature_name => $p2, rejected_by => 'approver' }, status => 422, code => '22023');
refused(name => $p2, what => 'reject by the developer', path => '/reject_feature_metadata', key => $dev,
        body => { feature_name => $p2, rejection_reason => 'r' }, status => 403, code => '42501');
refused(name => $p2, what => 'fix of a TEST_SUCCEEDED feature', path => '/fix_feature_metadata', key => $dev,
        body => { feature_name => $p2, fix_description => 'x' }, status => 409, code => 'MS423', message => qr/TEST_SUCCEEDED/);

# Reject (the seed's body)
$res = post('/reject_feature_metadata', $appr, <<"JSON");
{
  "feature_name": "$p2",
  "rejected_by": "approver",
  "user_role": "approver",
  "rejection_reason": "Test failed"
}
JSON
is($res->{status}, 200, 'seed reject: 200');
is($res->{body}{metadata}{status}, 'REJECTED', 'status REJECTED');
is($res->{body}{metadata}{rejection_reason}, 'Test failed', 'rejection_reason on the metadata');
refused(name => $p2, what => 'approve of a REJECTED feature', path => '/approve_feature_metadata', key => $appr,
        body => { feature_name => $p2 }, status => 409, code => 'MS423', message => qr/REJECTED/);
is(post('/features', $dev, { features => [$p2], entities => { driver_id => ['D001'] } })->{body}{features}{$p2}{status}, 'error',
   'a REJECTED feature gets no values');
$res = post('/fix_feature_metadata', $dev, { feature_name => $p2, fixed_by => 'dev', fix_description => 'Addressed review' });
is($res->{body}{metadata}{status}, 'DRAFT', 'fix after REJECTED: DRAFT');
is($res->{body}{metadata}{fix_description}, 'Addressed review', 'the new fix_description');
is($res->{body}{metadata}{rejection_reason}, 'Test failed', 'the rejection_reason is still shown');
post('/ready_test_feature_metadata', $dev, { feature_name => $p2 });
post('/test_feature_metadata', $ets, { feature_name => $p2, test_result => 'TEST_SUCCEEDED' });
$res = post('/approve_feature_metadata', $both, { feature_name => $p2, user_role => 'approver', approval_notes => 'ok' });
is($res->{status}, 200, 'approve by a key holding developer and approver, user_role approver: 200');
is($res->{body}{metadata}{status}, 'DEPLOYED', 'DEPLOYED');
is($res->{body}{metadata}{approval_notes}, 'ok', 'approval_notes kept');
is_deeply(actions($p2), [
    'create:>DRAFT', 'ready_test:DRAFT>READY_FOR_TESTING', 'test_failed:READY_FOR_TESTING>TEST_FAILED', 'fix:TEST_FAILED>DRAFT',
    'ready_test:DRAFT>READY_FOR_TESTING', 'test_succeeded:READY_FOR_TESTING>TEST_SUCCEEDED', 'reject:TEST_SUCCEEDED>REJECTED',
    'fix:REJECTED>DRAFT', 'ready_test:DRAFT>READY_FOR_TESTING', 'test_succeeded:READY_FOR_TESTING>TEST_SUCCEEDED',
    'approve:TEST_SUCCEEDED>APPROVED', 'deploy:APPROVED>DEPLOYED'], 'path 2: every transition, in order');
is(psql(qq{SELECT payload ->> 'rejection_reason' FROM metastore.machine_transitions WHERE machine = 'ml_feature' AND entity = '$p2' AND action = 'reject'}),
   'Test failed', 'the reject transition keeps its reason');
$res = post('/features', $dev, { features => [$p2], entities => { driver_id => ['D001', 'D002', 'D003'] }, event_timestamp => 1751429485000 });
my $iv = $res->{body}{features}{$p2}{values} // [];
is(scalar @$iv, 3, 'int feature: one value per entity');
ok(!(grep { !is_num($_) || $_ != int($_) || $_ < 0 || $_ > 999 } @$iv), '... integers in 0..999') or diag($res->{raw});
is(join(',', @$iv), psql(qq{SELECT string_agg(metastore.feature_value('$p2', 'int', jsonb_build_object('driver_id', d)::text, 1751429485000)::text, ',' ORDER BY d)
                           FROM unnest(ARRAY['D001', 'D002', 'D003']) d}), '... = metastore.feature_value');

# ======================================================================
# roles and bodies
# ======================================================================
my $r3 = fname('roles');
refused(name => $r3, what => 'create by the approver', path => '/create_feature_metadata', key => $appr,
        body => { feature_name => $r3, feature_type => 'batch', feature_data_type => 'float', query => 'q' }, status => 403, code => '42501');
refused(name => $r3, what => 'create by a writer of "features" (writer implies no lifecycle role)', path => '/create_feature_metadata', key => $wri,
        body => { feature_name => $r3, feature_type => 'batch', feature_data_type => 'float', query => 'q' }, status => 403, code => '42501');
refused(name => $r3, what => 'create by an admin of "features"', path => '/create_feature_metadata', key => $adm,
        body => { feature_name => $r3, feature_type => 'batch', feature_data_type => 'float', query => 'q' }, status => 403, code => '42501');
refused(name => $r3, what => 'create by the approver claiming developer', path => '/create_feature_metadata', key => $appr,
        body => { feature_name => $r3, feature_type => 'batch', feature_data_type => 'float', query => 'q', user_role => 'developer' },
        status => 403, code => '42501');
refused(name => $r3, what => 'create by a developer claiming approver', path => '/create_feature_metadata', key => $dev,
        body => { feature_name => $r3, feature_type => 'batch', feature_data_type => 'float', query => 'q', user_role => 'approver' },
        status => 403, code => '42501');
refused(name => $r3, what => 'an unknown user_role', path => '/create_feature_metadata', key => $dev,
        body => { feature_name => $r3, feature_type => 'batch', feature_data_type => 'float', query => 'q', user_role => 'superuser' },
        status => 422, code => '22023');
refused(name => $r3, what => 'create without query', path => '/create_feature_metadata', key => $dev,
        body => { feature_name => $r3, feature_type => 'batch', feature_data_type => 'float' }, status => 422, code => '22023');
refused(name => $r3, what => 'create without feature_name', path => '/create_feature_metadata', key => $dev,
        body => { feature_type => 'batch', feature_data_type => 'float', query => 'q' }, status => 422, code => '22023');
refused(name => $r3, what => 'create with an unknown field', path => '/create_feature_metadata', key => $dev,
        body => { feature_name => $r3, feature_type => 'batch', feature_data_type => 'float', query => 'q', owner => 'me' },
        status => 422, code => '22023');
refused(name => $r3, what => 'create with a bad feature_type', path => '/create_feature_metadata', key => $dev,
        body => { feature_name => $r3, feature_type => 'nightly', feature_data_type => 'float', query => 'q' }, status => 422, code => '22023');
refused(name => $r3, what => 'create with a bad feature_data_type', path => '/create_feature_metadata', key => $dev,
        body => { feature_name => $r3, feature_type => 'batch', feature_data_type => 'double', query => 'q' }, status => 422, code => '22023');
refused(name => $r3, what => 'create with a description over 4096 bytes', path => '/create_feature_metadata', key => $dev,
        body => { feature_name => $r3, feature_type => 'batch', feature_data_type => 'float', query => 'q', description => 'x' x 4097 },
        status => 422, code => '22001');
refused(name => "$r3 x", what => 'create with a bad name', path => '/create_feature_metadata', key => $dev,
        body => { feature_name => "$r3 x", feature_type => 'batch', feature_data_type => 'float', query => 'q' }, status => 422, code => '22023');
refused(name => $r3, what => 'create with a numeric description', path => '/create_feature_metadata', key => $dev,
        body => { feature_name => $r3, feature_type => 'batch', feature_data_type => 'float', query => 'q', description => 5 },
        status => 422, code => '22023');
refused(name => $r3, what => 'create with a body that is not an object', path => '/create_feature_metadata', key => $dev,
        body => '[]', status => 422, code => '22023');
$res = post('/create_feature_metadata', $both, { feature_name => $r3, feature_type => 'batch', feature_data_type => 'bool',
                                                 query => 'q', user_role => 'approver' });
is($res->{status}, 201, 'create by a key holding developer and approver, user_role approver (held): 201');
$res = post('/create_feature_metadata', $dev, { feature_name => "$r3.b", feature_type => 'batch', feature_data_type => 'string', query => 'q' });
is($res->{status}, 201, 'create without user_role: 201');
refused(name => $r3, what => 'update with an unknown field', path => '/update_feature_metadata', key => $dev,
        body => { feature_name => $r3, status => 'DEPLOYED' }, status => 422, code => '22023');
refused(name => $r3, what => 'update without feature_name', path => '/update_feature_metadata', key => $dev,
        body => { description => 'x' }, status => 422, code => '22023');
refused(name => $r3, what => 'update by the approver', path => '/update_feature_metadata', key => $appr,
        body => { feature_name => $r3, description => 'x' }, status => 403, code => '42501');
refused(name => $r3, what => 'update by the testing system', path => '/update_feature_metadata', key => $ets,
        body => { feature_name => $r3, description => 'x', user_role => 'external_testing_system' }, status => 403, code => '42501');
refused(name => $r3, what => 'update with a bad feature_data_type', path => '/update_feature_metadata', key => $dev,
        body => { feature_name => $r3, feature_data_type => 'double' }, status => 422, code => '22023');
refused(name => $r3, what => 'ready_test with an unknown field', path => '/ready_test_feature_metadata', key => $dev,
        body => { feature_name => $r3, status => 'READY_FOR_TESTING' }, status => 422, code => '22023');
refused(name => $r3, what => 'ready_test by the testing system', path => '/ready_test_feature_metadata', key => $ets,
        body => { feature_name => $r3 }, status => 403, code => '42501');
refused(name => $r3, what => 'get with a user_role the key does not hold', path => '/get_feature_metadata', key => $dev,
        body => { feature_name => $r3, user_role => 'approver' }, status => 403, code => '42501');
refused(name => $r3, what => 'list with a user_role the key does not hold', path => '/get_all_feature_metadata', key => $dev,
        body => { user_role => 'approver' }, status => 403, code => '42501');
refused(name => $r3, what => 'batch values with a user_role the key does not hold', path => '/features', key => $dev,
        body => { features => [$conv], entities => { driver_id => ['D1'] }, user_role => 'external_testing_system' },
        status => 403, code => '42501');
$res = req(GET => '/get_all_feature_metadata?user_role=approver', key => $dev);
is($res->{status}, 403, 'GET list ?user_role= the key does not hold: 403, as in a body') or diag($res->{raw});
$res = req(GET => '/get_feature_metadata/' . enc($r3), key => $out);
isnt($res->{status}, 200, 'a key without a grant on "features" cannot read a feature') or diag($res->{raw});
$res = req(GET => '/get_all_feature_metadata', key => $out);
ok($res->{status} != 200 || !@{ $res->{body}{features} }, 'a key without a grant on "features" lists nothing') or diag($res->{raw});
# 403, not 404 "machine not found" (the machine is hidden from it by RLS)
refused(name => $r3, what => 'create by a key without a grant on "features"', path => '/create_feature_metadata', key => $out,
        body => { feature_name => "$r3.c", feature_type => 'batch', feature_data_type => 'float', query => 'q' }, status => 403, code => '42501');

# ======================================================================
# authentication
# ======================================================================
for my $c (['POST', '/create_feature_metadata', { feature_name => fname('noauth'), feature_type => 'batch', feature_data_type => 'float', query => 'q' }],
           ['GET', '/get_feature_metadata/' . enc($conv)], ['GET', '/get_all_feature_metadata'], ['GET', '/get_deployed_features'],
           ['GET', '/features/available'], ['POST', '/features', { features => [$conv], entities => { driver_id => ['D001'] } }],
           ['POST', '/approve_feature_metadata', { feature_name => $r3 }]) {
    my ($method, $path, $body) = @$c;
    $res = req($method, $path, ($body ? (body => $body) : ()));
    is($res->{status}, 401, "$method $path without a key: 401");
    ok(!defined $res->{body}{features} && !defined $res->{body}{metadata}, '... and no data');
}
refused(name => $r3, what => 'ready_test with a bad key', path => '/ready_test_feature_metadata', key => 'ms_bogus',
        body => { feature_name => $r3 }, status => 401);
is(feat($r3)->{body}{metadata}{status}, 'DRAFT', 'after all of the above, the roles feature is still DRAFT');

done_testing();
