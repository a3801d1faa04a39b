# bench/lib.sh: what every benchmark report says about the machine and the build.
# Sourced by the bench scripts (needs ROOT and PG_MAJOR); sets cpu, ram, rev, build.

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
ram=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
rev=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
# the server runs the *installed* library, which may lag the working tree
build="installed library not found locally"
libdir=$(/usr/lib/postgresql/"$PG_MAJOR"/bin/pg_config --pkglibdir 2>/dev/null || true)
if [ -n "$libdir" ] && [ -r "$libdir/metastore.so" ]; then
  inst=$(md5sum < "$libdir/metastore.so" | cut -c1-12)
  build="installed metastore.so md5 $inst"
  if [ -r "$ROOT/metastore.so" ]; then
    if [ "$inst" = "$(md5sum < "$ROOT/metastore.so" | cut -c1-12)" ]; then build="$build (= the working tree's build)"
    else build="$build (differs from the working tree's metastore.so: run make install to measure that)"; fi
  fi
fi
