#!/usr/bin/env perl
# Feature flags on a read-only hot standby (docs/flags.md, "The cache").
#
# Flag evaluation (metastore.evaluate / is_enabled / evaluate_all) keeps a
# per-backend cache of compiled flags (src/flag_eval.c).  The statement trigger
# metastore.cache_invalidate() on metastore.flags and metastore.flag_segments
# fires a relcache invalidation (src/cache.c); invalidations are written into
# the commit record, so a hot standby replaying the WAL delivers them to its own
# backends.  This test proves that end to end:
#
#   1. on the primary (PGHOST/PGPORT/PGUSER, as set by pg_virtualenv) it creates
#      a database with the extension, a 50% rollout flag and a flag that uses a
#      segment;
#   2. it makes a hot standby of that cluster with pg_basebackup -R (streaming,
#      with a replication slot) in a private temporary directory and starts it
#      on a Unix socket only;
#   3. in ONE long-lived psql session on the standby (its backend pid is checked
#      at every step) it evaluates both flags for 40 users, so that the cache of
#      that backend is loaded, and compares each answer with metastore.bucket
#      computed on the primary (and with the primary's own answers); a write
#      there must fail with 25006 (read-only transaction);
#   4. it changes the flags on the primary (kill switch off; rollout 100 and on
#      again; the segment's constraints; delete_flag), waits until the standby
#      has replayed past the primary's WAL position after each commit, and checks
#      that the same standby session now answers from the new definitions;
#   5. END stops the standby (pg_ctl stop -m fast), drops the slot and the
#      database on the primary and removes the directory, also after a failure.
#
#   pg_virtualenv -t -v 15 -o metastore.server_secret_file=FILE prove -v test/standby/flags_standby.t
#   METASTORE_STANDBY_KEEP=1   keep the standby's directory and the database
#
# Core Perl only.  Must run as a superuser of the primary.  When run as root
# (pg_virtualenv runs the command as root, the cluster as "postgres"), the
# standby is made and run as the OS user that owns the primary's data directory,
# through runuser: initdb, pg_ctl and postgres refuse to run as root.
use strict;
use warnings;
use Test::More;
use IPC::Open2 qw(open2);
use IO::Select;
use IO::Socket::INET;
use File::Temp qw(tempdir);
use File::Path qw(remove_tree);
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

my $T0      = time();
my $DB      = 'metastore_standby_flags';
my $SLOT    = 'metastore_standby_flags';
my $FLAG    = 'standby-flag';
my $SEGFLAG = 'standby-seg-flag';
my $SEG     = 'standby-seg';
my @USERS   = map { sprintf 'user-%03d', $_ } 0 .. 39;
my $WAIT    = 20;       # seconds for any one wait (replay, start, a query)
my $JSON    = JSON::PP->new->canonical;

# ---- state for END -------------------------------------------------------
my ($tmp, $datadir, $owner, @as_owner, $bindir, $port, $standby_started,
    $slot_created, $db_created, $session);

$SIG{INT} = $SIG{TERM} = sub { die "killed by signal\n" };

# ---- helpers ---------------------------------------------------------------

sub sql_quote { my $s = shift; $s =~ s/'/''/g; "'$s'" }
sub sql_text_array { 'ARRAY[' . join(', ', map { sql_quote($_) } @_) . ']::text[]' }

# Run a command, return (exit status, stdout, stderr); dies on a timeout.
sub run_cmd {
    my ($cmd, %o) = @_;
    my $errf = "$tmp/cmd.err";
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open(STDERR, '>', $errf) or POSIX::_exit(127);
        chdir($o{cwd} // $tmp);
        exec(@$cmd) or POSIX::_exit(127);
    }
    my $out = '';
    my $sel = IO::Select->new($fh);
    my $deadline = time() + ($o{timeout} // $WAIT);
    while (1) {
        my $left = $deadline - time();
        if ($left <= 0 || !$sel->can_read($left)) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            die "timed out after " . ($o{timeout} // $WAIT) . "s: @$cmd\n";
        }
        my $n = sysread($fh, my $buf, 65536);
        last unless $n;
        $out .= $buf;
    }
    close($fh);
    my $rc = $?;
    my $err = '';
    if (open(my $e, '<', $errf)) { local $/; $err = <$e> // ''; }
    return ($rc, $out, $err);
}

# SQL on the primary (one psql -c per statement list); dies with psql's error.
sub primary_sql {
    my ($sql, $db) = @_;
    my ($rc, $out, $err) = run_cmd(['psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
                                    '-d', $db // $DB, '-c', $sql]);
    die "primary: psql failed ($rc): $err\n  in: $sql\n" if $rc != 0;
    chomp $out;
    return $out;
}

# A command as the standby's OS user (the owner of the primary's data directory).
sub as_owner_cmd {
    my ($rc, $out, $err) = run_cmd([@as_owner, @_], timeout => 60);
    die "failed ($rc): @_\n$err$out\n" if $rc != 0;
    return $out;
}

sub standby_log_tail {
    return '' unless $tmp && -f "$tmp/standby.log";
    open(my $fh, '<', "$tmp/standby.log") or return '';
    my @l = <$fh>;
    splice(@l, 0, @l - 40) if @l > 40;
    return join('', "standby log (last lines):\n", map { "  $_" } @l);
}

# ---- a persistent psql session on the standby --------------------------------
# Each query is sent as one line, followed by "\echo <marker> :SQLSTATE
# :LAST_ERROR_MESSAGE"; everything up to the marker is the result.  Every query
# the test sends returns one JSON value (one line with -A -t).
package PsqlSession {
    sub new {
        my ($class, @cmd) = @_;
        my $errfile = "$tmp/session.err";
        open(my $save, '>&', \*STDERR) or die "dup STDERR: $!";
        open(STDERR, '>>', $errfile) or die "open $errfile: $!";
        my ($out, $in);
        my $pid = eval { IPC::Open2::open2($out, $in, @cmd) };
        my $e = $@;
        open(STDERR, '>&', $save) or die "restore STDERR: $!";
        die $e if $e;
        my $self = bless { pid => $pid, in => $in, out => $out, buf => '', n => 0,
                           errfile => $errfile, sel => IO::Select->new($out) }, $class;
        return $self;
    }

    # (sqlstate, error message or '', result text)
    sub query {
        my ($self, $sql) = @_;
        $sql =~ s/\s*\n\s*/ /g;
        $sql =~ s/;?\s*$/;/;
        my $marker = '__METASTORE_DONE_' . ++$self->{n} . '__';
        print { $self->{in} } "$sql\n\\echo $marker :SQLSTATE :LAST_ERROR_MESSAGE\n"
            or die "standby session: write failed: $!\n";
        $self->{in}->flush;
        my $deadline = Time::HiRes::time() + $WAIT;
        while ($self->{buf} !~ /^\Q$marker\E (\S+) ?(.*)\n/m) {
            my $left = $deadline - Time::HiRes::time();
            die "standby session: no answer within ${WAIT}s to: $sql\n"
                if $left <= 0 || !$self->{sel}->can_read($left);
            my $n = sysread($self->{out}, my $chunk, 65536);
            die "standby session: psql exited (" . $self->stderr . ") during: $sql\n" unless $n;
            $self->{buf} .= $chunk;
        }
        $self->{buf} =~ s/\A(.*?)^\Q$marker\E (\S+) ?([^\n]*)\n//ms or die "unreachable";
        my ($result, $state, $msg) = ($1, $2, $3);
        chomp $result;
        return ($state, $state eq '00000' ? '' : $msg, $result);
    }

    # The query's JSON result; dies on an error.
    sub json {
        my ($self, $sql) = @_;
        my ($state, $msg, $result) = $self->query($sql);
        die "standby session: $state $msg\n  in: $sql\n" if $state ne '00000';
        return JSON::PP->new->decode($result);
    }

    sub stderr {
        my $self = shift;
        open(my $fh, '<', $self->{errfile}) or return '';
        local $/;
        my $s = <$fh> // '';
        $s =~ s/\s+\z//;
        return $s;
    }

    sub close {
        my $self = shift;
        return unless $self->{pid};
        close($self->{in});
        my $deadline = Time::HiRes::time() + 5;
        while (Time::HiRes::time() < $deadline) {
            last if waitpid($self->{pid}, POSIX::WNOHANG()) != 0;
            Time::HiRes::sleep(0.05);
        }
        if (kill(0, $self->{pid})) { kill 'KILL', $self->{pid}; waitpid($self->{pid}, 0); }
        $self->{pid} = undef;
    }
}

# ---- cleanup -------------------------------------------------------------
END {
    my $status = $?;
    $session->close if $session;
    if ($standby_started) {
        my ($rc, $out, $err) = eval {
            run_cmd([@as_owner, "$bindir/pg_ctl", '-D', $datadir, '-m', 'fast', '-w', '-t', '30',
                     'stop'], timeout => 40) };
        if ($@ || $rc != 0) {
            diag("pg_ctl stop -m fast failed (" . ($@ || $err) . "), trying -m immediate");
            eval { run_cmd([@as_owner, "$bindir/pg_ctl", '-D', $datadir, '-m', 'immediate',
                            '-w', 'stop'], timeout => 30) };
        }
    }
    if ($slot_created) {
        eval { primary_sql("SELECT pg_drop_replication_slot(" . sql_quote($SLOT) . ")", 'postgres') };
        diag("could not drop replication slot $SLOT: $@") if $@;
    }
    if ($db_created && !$ENV{METASTORE_STANDBY_KEEP}) {
        eval { primary_sql("DROP DATABASE IF EXISTS $DB", 'postgres') };
        diag("could not drop database $DB: $@") if $@;
    }
    if ($tmp && -d $tmp) {
        chdir('/');
        if ($ENV{METASTORE_STANDBY_KEEP}) { diag("kept $tmp") }
        else { remove_tree($tmp) }
    }
    $? = $status;
}

# ---- the test ----------------------------------------------------------------

# Each user's bucket for the rollout flag, from the primary's metastore.bucket
# ("<groupId>:<userId>", groupId = the flag's name): the expected answers.
my %bucket;

sub check_rollout_flag {
    # exp: enabled => sub(user), reason => sub(user), version => the primary's (optional)
    my ($label, $got, %exp) = @_;
    my @bad;
    for my $u (@USERS) {
        my $r  = $got->{eval}{$u};
        my $on = $exp{enabled}->($u) ? JSON::PP::true : JSON::PP::false;
        my $why = $exp{reason}->($u);
        push @bad, "$u (bucket $bucket{$u}): got " . $JSON->encode($r) . ", want enabled=" . ($on ? 'true' : 'false')
                   . " reason=$why"
            unless ref $r eq 'HASH' && !!$r->{enabled} == !!$on && ($r->{reason} // '') eq $why
                && ($exp{version} ? ($r->{version} // -1) == $exp{version} : 1)
                && ($why eq 'ERROR' ? ($r->{error_code} // '') eq 'FLAG_NOT_FOUND' : 1);
        push @bad, "$u: is_enabled " . $JSON->encode($got->{is_enabled}{$u}) . " but want "
                   . ($on ? 'true' : 'false')
            unless !!$got->{is_enabled}{$u} == !!$on;
    }
    ok(!@bad, "$label: evaluate and is_enabled for " . scalar(@USERS) . " users")
        or diag(join("\n", (@bad > 10 ? (@bad[0 .. 9], '...') : @bad)));
}

sub check_evaluate_all {
    my ($label, $got, %want) = @_;   # want: flag name => sub(user) -> enabled, or undef: absent
    my @bad;
    for my $u (@USERS) {
        my %by = map { ($_->{key} => $_) } @{ $got->{all}{$u} // [] };
        for my $f (sort keys %want) {
            if (!defined $want{$f}) {
                push @bad, "$u: $f present: " . $JSON->encode($by{$f}) if exists $by{$f};
            } elsif (!exists $by{$f}) {
                push @bad, "$u: $f missing";
            } elsif (!!$by{$f}{enabled} != !!$want{$f}->($u)) {
                push @bad, "$u: $f " . $JSON->encode($by{$f});
            } elsif ($JSON->encode($by{$f}) ne $JSON->encode($f eq $FLAG ? $got->{eval}{$u} : $by{$f})) {
                push @bad, "$u: $f differs from evaluate(): " . $JSON->encode($by{$f});
            }
        }
    }
    ok(!@bad, "$label: evaluate_all") or diag(join("\n", (@bad > 10 ? (@bad[0 .. 9], '...') : @bad)));
}

my $standby_pid;

# The contexts: every user, with a country (for the segment flag) in turn.
my %COUNTRY = map { ($USERS[$_] => (qw(NL DE BE))[$_ % 3]) } 0 .. $#USERS;
sub contexts_sql {
    return '(SELECT u, jsonb_build_object(\'userId\', u, \'country\', c) AS ctx FROM unnest('
        . sql_text_array(@USERS) . ', ' . sql_text_array(map { $COUNTRY{$_} } @USERS) . ') AS x(u, c))';
}

# One round trip in the long-lived standby session: every user's answers.
sub standby_state {
    my $ctx = contexts_sql();
    my $got = $session->json(<<"SQL");
SELECT jsonb_build_object(
  'pid', pg_backend_pid(),
  'recovery', pg_is_in_recovery(),
  'eval', (SELECT jsonb_object_agg(u, metastore.evaluate(@{[sql_quote($FLAG)]}, ctx)) FROM $ctx x),
  'is_enabled', (SELECT jsonb_object_agg(u, metastore.is_enabled(@{[sql_quote($FLAG)]}, ctx)) FROM $ctx x),
  'all', (SELECT jsonb_object_agg(u, metastore.evaluate_all(ctx)) FROM $ctx x),
  'seg', (SELECT jsonb_object_agg(c, metastore.evaluate(@{[sql_quote($SEGFLAG)]}, jsonb_build_object('userId', 'user-000', 'country', c))) FROM unnest(ARRAY['NL', 'DE', 'BE']) c))
SQL
    return $got;
}

# The same answers from the primary (a fresh session there).
sub primary_state {
    my $ctx = contexts_sql();
    return decode_json(primary_sql(<<"SQL"));
SELECT jsonb_build_object(
  'eval', (SELECT jsonb_object_agg(u, metastore.evaluate(@{[sql_quote($FLAG)]}, ctx)) FROM $ctx x),
  'all', (SELECT jsonb_object_agg(u, metastore.evaluate_all(ctx)) FROM $ctx x),
  'seg', (SELECT jsonb_object_agg(c, metastore.evaluate(@{[sql_quote($SEGFLAG)]}, jsonb_build_object('userId', 'user-000', 'country', c))) FROM unnest(ARRAY['NL', 'DE', 'BE']) c))
SQL
}

sub same_session_ok {
    my ($label, $got) = @_;
    ok($got->{pid} == $standby_pid && $got->{recovery},
       "$label: same standby backend (pid $standby_pid), still in recovery")
        or diag("pid now $got->{pid}, pg_is_in_recovery " . $JSON->encode($got->{recovery}));
}

# How many scans of metastore.flags one evaluation in the standby session
# needs: 0 when the flag is served from the backend's cache, at least 1 when
# the cache was dropped and the flag is read again (by the cache's own SPI
# query).  pg_stat_xact_user_tables also holds counts of earlier transactions
# that the backend has not yet flushed to the shared statistics, so the count
# is taken before and after the evaluation, in one transaction (nothing is
# flushed in the middle of one).
sub flag_table_reads {
    my $count = 'SELECT to_jsonb(coalesce((SELECT seq_scan + coalesce(idx_scan, 0) '
        . "FROM pg_stat_xact_user_tables WHERE relid = 'metastore.flags'::regclass), 0))";
    my @r;
    for my $q ('BEGIN', $count,
               "SELECT metastore.is_enabled(@{[sql_quote($FLAG)]}, '{\"userId\": \"user-000\"}')",
               $count, 'COMMIT') {
        my ($state, $msg, $result) = $session->query($q);
        if ($state ne '00000') {
            $session->query('ROLLBACK');
            die "standby session: $state $msg\n  in: $q\n";
        }
        push @r, $result;
    }
    return $r[3] - $r[1];
}

sub reloaded_ok {
    my $label = shift;
    my $first = flag_table_reads();
    my $second = flag_table_reads();
    ok($first >= 1 && $second == 0,
       "$label: the session's cache was dropped (first evaluation read metastore.flags) and refilled")
        or diag("scans of metastore.flags: first evaluation $first, second $second");
}

sub same_as_primary_ok {
    my ($label, $got) = @_;
    my $p = primary_state();
    my @bad;
    for my $u (@USERS) {
        for my $k (qw(eval all)) {
            my ($a, $b) = map { $JSON->encode($_->{$k}{$u}) } $got, $p;
            push @bad, "$u ($k): standby $a, primary $b" if $a ne $b;
        }
    }
    for my $c (qw(NL DE BE)) {
        my ($a, $b) = map { $JSON->encode($_->{seg}{$c}) } $got, $p;
        push @bad, "$SEGFLAG/$c: standby $a, primary $b" if $a ne $b;
    }
    ok(!@bad, "$label: the standby answers exactly as the primary")
        or diag(join("\n", (@bad > 10 ? (@bad[0 .. 9], '...') : @bad)));
}

# Wait until the standby has replayed everything the primary has written so far.
sub wait_replay {
    my $label = shift;
    my $lsn = primary_sql('SELECT pg_current_wal_lsn()', 'postgres');
    my $deadline = time() + $WAIT;
    my $replayed = '';
    while (time() < $deadline) {
        my ($rc, $out, $err) = run_cmd(['psql', '-X', '-q', '-A', '-t', '-h', $tmp, '-p', $port,
                                        '-d', $DB, '-c',
                                        "SELECT pg_last_wal_replay_lsn(), pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn"]);
        chomp $out;
        ($replayed, my $done) = split /\|/, $out;
        if ($rc == 0 && ($done // '') eq 't') {
            pass("$label: the standby replayed up to the primary's $lsn");
            return 1;
        }
        sleep(0.05);
    }
    die "$label: the standby did not replay up to the primary's $lsn within ${WAIT}s "
        . "(replayed only up to " . ($replayed || '?') . ")\n";
}

sub flag_version {
    return primary_sql("SELECT version FROM metastore.flags WHERE name = " . sql_quote(shift));
}

eval {
    $tmp = tempdir('ms_standby_XXXXXX', TMPDIR => 1);   # short: it holds the standby's socket
    chmod(0700, $tmp);

    # -- the primary -----------------------------------------------------------
    my $super = primary_sql('SELECT rolsuper FROM pg_roles WHERE rolname = current_user', 'postgres');
    die "the primary's user must be a superuser\n" unless $super eq 't';
    $bindir = primary_sql("SELECT setting FROM pg_config WHERE name = 'BINDIR'", 'postgres');
    my $pgdata = primary_sql('SHOW data_directory', 'postgres');

    # the standby runs as the owner of the primary's data directory
    my $uid = (stat $pgdata)[4] // $>;
    $owner = getpwuid($uid) // die "no user with uid $uid\n";
    @as_owner = ($> == 0 && $uid != 0) ? ('runuser', '-u', $owner, '--') : ();

    chown($uid, (getpwuid($uid))[3], $tmp) if $> == 0;
    $datadir = "$tmp/data";

    primary_sql("DROP DATABASE IF EXISTS $DB", 'postgres');
    primary_sql("CREATE DATABASE $DB", 'postgres');
    $db_created = 1;
    primary_sql('CREATE EXTENSION metastore');
    my $seg = decode_json(primary_sql("SELECT to_jsonb(s) FROM metastore.put_segment("
        . sql_quote($SEG) . ", '[{\"contextName\": \"country\", \"operator\": \"IN\", \"values\": [\"NL\"]}]') s"));
    primary_sql("SELECT metastore.put_flag(" . sql_quote($FLAG)
        . ", '{\"enabled\": true, \"rollout_percentage\": 50}')");
    primary_sql("SELECT metastore.put_flag(" . sql_quote($SEGFLAG)
        . ", '{\"enabled\": true, \"strategies\": [{\"name\": \"default\", \"segments\": [$seg->{id}]}]}')");
    %bucket = %{ decode_json(primary_sql("SELECT jsonb_object_agg(u, metastore.bucket("
        . sql_quote("$FLAG:") . " || u)) FROM unnest(" . sql_text_array(@USERS) . ") u")) };
    my $n_in = grep { $bucket{$_} <= 50 } @USERS;
    ok($n_in >= 5 && $n_in <= @USERS - 5,
       "the users fall on both sides of a 50% rollout ($n_in of " . scalar(@USERS) . " in)");

    # settings the standby should share with the primary: the hot standby
    # checks (max_connections and friends must not be lower) and the
    # extension's own (evaluation does not need the secret; the standby mirrors
    # the primary all the same)
    my %conf = map { split /\|/, $_, 2 } split /\n/, primary_sql(<<'SQL', 'postgres');
SELECT name, setting FROM pg_settings
 WHERE name IN ('max_connections', 'max_worker_processes', 'max_wal_senders',
                'max_prepared_transactions', 'max_locks_per_transaction', 'shared_preload_libraries')
SQL
    # not loaded in that session yet: ask after loading the library
    my $secret = primary_sql("SELECT metastore.bucket('x') IS NOT NULL, "
        . "current_setting('metastore.server_secret_file', true)");
    $secret =~ s/^[tf]\|//;

    # -- replication access ------------------------------------------------
    # pg_basebackup connects like psql does (PGHOST/PGPORT/PGUSER/PGPASSWORD) but
    # to the "replication" pseudo-database, which pg_hba.conf must name
    # explicitly ("all" does not cover it).  pg_virtualenv's clusters have the
    # stock "local/host replication all" lines; a cluster without any gets them
    # here, with the same methods as the stock file (peer on the socket,
    # scram-sha-256 on loopback), and a reload.
    my $repl_rules = primary_sql("SELECT count(*) FROM pg_hba_file_rules "
        . "WHERE 'replication' = ANY(database) AND error IS NULL", 'postgres');
    if ($repl_rules == 0) {
        my $hba = primary_sql('SHOW hba_file', 'postgres');
        open(my $fh, '>>', $hba) or die "cannot append to $hba: $!\n";
        print $fh "\n# added by test/standby/flags_standby.t\n",
                  "local   replication all                 peer\n",
                  "host    replication all 127.0.0.1/32    scram-sha-256\n",
                  "host    replication all ::1/128         scram-sha-256\n";
        close($fh);
        primary_sql('SELECT pg_reload_conf()', 'postgres');
        sleep(0.5);   # the postmaster rereads pg_hba.conf on the SIGHUP, asynchronously
        diag("added replication lines to $hba");
    }

    # -- the standby ---------------------------------------------------------
    primary_sql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
        . "WHERE slot_name = " . sql_quote($SLOT), 'postgres');
    # -C -S: a slot keeps the primary's WAL until the standby streams it
    # -c fast: do not wait for a spread checkpoint
    as_owner_cmd("$bindir/pg_basebackup", '-D', $datadir, '-R', '-X', 'stream', '-c', 'fast',
                 '-C', '-S', $SLOT);
    $slot_created = 1;
    pass('pg_basebackup -R -X stream made the standby');

    # Debian keeps postgresql.conf and pg_hba.conf outside the data directory,
    # so the copy may have none.  The standby gets its own: a Unix socket in
    # this private (0700) directory only, "trust" for it (nobody else can reach
    # the socket), and the primary's values of the settings collected above.
    unless (-f "$datadir/postgresql.conf") {
        open(my $fh, '>', "$datadir/postgresql.conf") or die "$datadir/postgresql.conf: $!\n";
        print $fh "# written by test/standby/flags_standby.t\n";
        close($fh);
    }
    for (['standby_hba.conf', "local all all trust\n"], ['standby_ident.conf', '']) {
        open(my $fh, '>', "$tmp/$_->[0]") or die "$tmp/$_->[0]: $!\n";
        print $fh $_->[1];
        close($fh);
        chown($uid, -1, "$tmp/$_->[0]") if $> == 0;
    }
    chown($uid, -1, "$datadir/postgresql.conf") if $> == 0;

    $port = do {   # a free port number (only names the socket: no TCP)
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)
            or die "no free port: $!\n";
        my $p = $s->sockport;
        close $s;
        $p;
    };
    my %opt = (hot_standby => 'on', listen_addresses => '', port => $port,
               unix_socket_directories => $tmp, hba_file => "$tmp/standby_hba.conf",
               ident_file => "$tmp/standby_ident.conf", fsync => 'off',
               %conf);
    $opt{'metastore.server_secret_file'} = $secret if $secret ne '';
    delete $opt{$_} for grep { $opt{$_} eq '' && $_ ne 'listen_addresses' } keys %opt;
    my $o = join(' ', map { my $v = $opt{$_}; $v =~ s/'/'\\''/g; "-c '$_=$v'" } sort keys %opt);
    as_owner_cmd("$bindir/pg_ctl", '-D', $datadir, '-l', "$tmp/standby.log", '-w', '-t', '30',
                 '-o', $o, 'start');
    $standby_started = 1;

    # wait until it is a hot standby accepting connections to the database
    my $deadline = time() + $WAIT;
    my $last = '';
    while (1) {
        my ($rc, $out, $err) = run_cmd(['psql', '-X', '-q', '-A', '-t', '-h', $tmp, '-p', $port,
                                        '-d', $DB, '-c', 'SELECT pg_is_in_recovery()']);
        chomp $out;
        last if $rc == 0 && $out eq 't';
        $last = $err || $out;
        die "the standby did not accept connections as a hot standby within ${WAIT}s: $last\n"
            . standby_log_tail() if time() > $deadline;
        sleep(0.1);
    }
    pass("the standby is up on port $port, in recovery");

    # -- the long-lived session on the standby ------------------------------
    $session = PsqlSession->new('psql', '-X', '-q', '-A', '-t', '-P', 'pager=off',
                                '-v', 'ON_ERROR_STOP=0', '-h', $tmp, '-p', $port, '-d', $DB);
    $session->json("SET application_name = 'flags_standby.t'; SELECT to_jsonb(1)");
    $standby_pid = $session->json('SELECT to_jsonb(pg_backend_pid())');
    ok($session->json('SELECT to_jsonb(pg_is_in_recovery())'),
       "the session's backend ($standby_pid) is on a server in recovery");

    # 1. the initial flags: the cache of this backend is loaded here
    my $v = flag_version($FLAG);
    my $got = standby_state();
    same_session_ok('initial', $got);
    check_rollout_flag('initial (rollout 50)', $got, version => $v,
        enabled => sub { $bucket{ $_[0] } <= 50 },
        reason  => sub { $bucket{ $_[0] } <= 50 ? 'SPLIT' : 'DEFAULT' });
    check_evaluate_all('initial', $got, $FLAG => sub { $bucket{ $_[0] } <= 50 },
        $SEGFLAG => sub { $COUNTRY{ $_[0] } eq 'NL' });
    is(join(',', map { "$_=" . ($got->{seg}{$_}{reason} // '?') } qw(NL DE BE)),
       'NL=TARGETING_MATCH,DE=DEFAULT,BE=DEFAULT', 'initial: the segment flag is on for NL only');
    same_as_primary_ok('initial', $got);
    is(flag_table_reads(), 0, 'initial: the next evaluation in the session is served from its cache');

    # a write on the standby: read-only transaction
    my ($state, $msg) = $session->query("SELECT metastore.put_flag('standby-other', '{\"enabled\": true}')");
    is($state, '25006', 'put_flag on the standby fails with 25006 (read-only transaction)')
        or diag("got $state: $msg");
    ($state, $msg) = $session->query("SELECT metastore.set_flag_enabled(" . sql_quote($FLAG) . ", false)");
    is($state, '25006', 'set_flag_enabled on the standby fails with 25006') or diag("got $state: $msg");
    is(flag_table_reads(), 0, 'after the failed writes: the session still evaluates from its cache');
    $got = standby_state();
    same_session_ok('after the failed writes', $got);
    check_rollout_flag('after the failed writes (unchanged)', $got, version => $v,
        enabled => sub { $bucket{ $_[0] } <= 50 },
        reason  => sub { $bucket{ $_[0] } <= 50 ? 'SPLIT' : 'DEFAULT' });

    # 2. the kill switch on the primary
    primary_sql("SELECT metastore.set_flag_enabled(" . sql_quote($FLAG) . ", false)");
    $v = flag_version($FLAG);
    wait_replay('kill switch off');
    reloaded_ok('kill switch off');
    $got = standby_state();
    same_session_ok('kill switch off', $got);
    check_rollout_flag('kill switch off', $got, version => $v,
        enabled => sub { 0 }, reason => sub { 'DISABLED' });
    check_evaluate_all('kill switch off', $got, $FLAG => sub { 0 }, $SEGFLAG => sub { $COUNTRY{ $_[0] } eq 'NL' });
    same_as_primary_ok('kill switch off', $got);

    # 3. rollout 100 and on again (two transactions on the primary)
    primary_sql("SELECT metastore.set_flag_rollout(" . sql_quote($FLAG) . ", 100)");
    primary_sql("SELECT metastore.set_flag_enabled(" . sql_quote($FLAG) . ", true)");
    $v = flag_version($FLAG);
    wait_replay('rollout 100, enabled');
    reloaded_ok('rollout 100, enabled');
    $got = standby_state();
    same_session_ok('rollout 100, enabled', $got);
    check_rollout_flag('rollout 100, enabled', $got, version => $v,
        enabled => sub { 1 }, reason => sub { 'STATIC' });
    check_evaluate_all('rollout 100, enabled', $got, $FLAG => sub { 1 },
        $SEGFLAG => sub { $COUNTRY{ $_[0] } eq 'NL' });
    same_as_primary_ok('rollout 100, enabled', $got);

    # 4. a segment change only (metastore.flag_segments' trigger)
    primary_sql("SELECT metastore.put_segment(" . sql_quote($SEG)
        . ", '[{\"contextName\": \"country\", \"operator\": \"IN\", \"values\": [\"DE\", \"BE\"]}]')");
    wait_replay('segment changed');
    reloaded_ok('segment changed');
    $got = standby_state();
    same_session_ok('segment changed', $got);
    is(join(',', map { "$_=" . ($got->{seg}{$_}{reason} // '?') . '/'
                       . ($got->{seg}{$_}{enabled} ? 'on' : 'off') } qw(NL DE BE)),
       'NL=DEFAULT/off,DE=TARGETING_MATCH/on,BE=TARGETING_MATCH/on',
       'segment changed: the segment flag follows the new constraints');
    check_rollout_flag('segment changed (rollout flag unchanged)', $got, version => $v,
        enabled => sub { 1 }, reason => sub { 'STATIC' });
    check_evaluate_all('segment changed', $got, $FLAG => sub { 1 },
        $SEGFLAG => sub { $COUNTRY{ $_[0] } ne 'NL' });
    same_as_primary_ok('segment changed', $got);

    # 5. delete_flag
    primary_sql("SELECT metastore.delete_flag(" . sql_quote($FLAG) . ")");
    wait_replay('flag deleted');
    reloaded_ok('flag deleted');
    $got = standby_state();
    same_session_ok('flag deleted', $got);
    check_rollout_flag('flag deleted', $got, enabled => sub { 0 }, reason => sub { 'ERROR' });
    check_evaluate_all('flag deleted', $got, $FLAG => undef, $SEGFLAG => sub { $COUNTRY{ $_[0] } ne 'NL' });
    same_as_primary_ok('flag deleted', $got);

    # the session's stderr: exactly the two read-only errors, nothing else
    # (no WARNING from loading the library, no other ERROR)
    my @msgs = grep { /^(?:ERROR|WARNING|FATAL|PANIC|NOTICE):/ } split /\n/, $session->stderr;
    is(scalar(@msgs), 2, 'the standby session reported only the two expected errors')
        or diag(join("\n", @msgs));
    1;
} or do {
    my $e = $@ || 'unknown error';
    fail("the test ran to its end");
    diag($e);
    diag(standby_log_tail()) if $standby_started && $e !~ /standby log/;
};

note(sprintf 'took %.1fs', time() - $T0);
done_testing();
