#!/usr/bin/env bash
# A real SLURM cluster, one node, on this machine: the SLURM job array that
# `icl-lab sweep --slurm` writes is submitted with sbatch, one task is cancelled
# mid-run with scancel and submitted again, and `icl-lab sweep collect` must give a
# summary of every run, the cancelled one resumed from its checkpoint and equal to
# an uninterrupted run of the same config.
#
#   tests/slurm/test.sh            (ICL_LAB_BIN: the icl-lab binary to test; default
#                                   $CARGO_TARGET_DIR/release/icl-lab)
#
# Needs Debian's slurmctld, slurmd, slurm-client and munge; as root, on a machine
# without them, it installs them (apt-get, with service start-up disabled: nothing
# runs as a system service). The daemons (munged, slurmctld, slurmd) run from a
# temporary directory with their own key, config, state and free ports, as this
# script's children, and are stopped when it exits, whatever happens.
# Prints "# pass N" and "# fail N" (scripts/test.sh counts them); exits non-zero on
# any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${ICL_LAB_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/icl-lab-target}/release/icl-lab}"
BIN="$(realpath "$BIN")"
[ -x "$BIN" ] || { echo "no icl-lab binary at $BIN (cargo build --release --bin icl-lab)" >&2; exit 1; }

# --- install -------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
  || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "SLURM is not installed: apt-get install slurmctld slurmd slurm-client munge (as root)" >&2
    exit 1
  fi
  echo "installing SLURM and munge (Debian packages)…"
  # Packages must not start their services: a policy that says no, only for this
  # install (an existing policy is left as it was).
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq "$@"; }
  status=0
  { apt_get update && apt_get install -y --no-install-recommends \
      slurmctld slurmd slurm-client munge >/dev/null; } || status=$?
  [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$status" = 0 ] || { echo "apt-get install of SLURM failed" >&2; exit 1; }
fi

# --- checks ----------------------------------------------------------------------
pass=0
fail=0
check() {
  local what=$1
  shift
  if "$@"; then
    echo "ok - $what"
    pass=$((pass + 1))
  else
    echo "not ok - $what"
    fail=$((fail + 1))
  fi
}
# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local limit=$1 start=$SECONDS
  shift
  until "$@"; do
    if ((SECONDS - start > limit)); then return 1; fi
    sleep 0.5
  done
}

# --- the cluster -----------------------------------------------------------------
work=$(mktemp -d /tmp/icl-slurm.XXXXXX)
chmod 755 "$work"
export SLURM_CONF="$work/slurm.conf"
stop_cluster() {
  set +e
  if [ -f "$work/slurmctld.pid" ]; then scancel --full --quiet --user "$(id -un)" 2>/dev/null; fi
  for pid in slurmd.pid slurmctld.pid munge/munged.pid; do
    [ -f "$work/$pid" ] && kill "$(cat "$work/$pid")" 2>/dev/null
  done
  sleep 1
  for pid in slurmd.pid slurmctld.pid munge/munged.pid; do
    [ -f "$work/$pid" ] && kill -9 "$(cat "$work/$pid")" 2>/dev/null
  done
  if [ "$fail" != 0 ] || [ "${KEEP:-0}" = 1 ]; then
    echo "kept for a look: $work"
  else
    rm -rf "$work"
  fi
}
trap stop_cluster EXIT

# Two free ports on the loopback (nothing answers a connection there).
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  return 1
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done

mkdir -p "$work/munge" "$work/state" "$work/spool" "$work/log"
chmod 711 "$work/munge"
head -c 1024 /dev/urandom >"$work/munge/munge.key"
chmod 400 "$work/munge/munge.key"
munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
  --seed-file="$work/munge/munged.seed"

node=$(hostname -s)
# The node's memory in MB, less some for the system (sbatch --mem is checked against it).
memory=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 - 512))
cat >"$SLURM_CONF" <<EOF
ClusterName=icllab$$
SlurmctldHost=$node(127.0.0.1)
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/socket
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
KillWait=30
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$memory State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -c
slurmd
idle() { sinfo -h -o '%t' 2>/dev/null | grep -qx idle; }
if ! wait_for 60 idle; then
  echo "the cluster did not come up:" >&2
  tail -n 20 "$work/log/"*.log >&2
  fail=1
  exit 1
fi
echo "one-node SLURM cluster up ($(sinfo -V), $(nproc) CPUs, ports $ctld_port/$slurmd_port)"

# --- the sweep -------------------------------------------------------------------
# 3 pool sizes × 2 seeds, 400 steps each (about 15 s per run on one core), a
# checkpoint every 100 steps.
dir="$work/sweep"
"$BIN" sweep --preset garg-tiny --set train.steps=400 --set train.eval_every=100 \
  --vary task.pool=4,16,null --seeds 2 --slurm "$dir" --time 10 --mem 2G >/dev/null
check "the sweep directory has a plan, six configs and a job array of six tasks" \
  bash -c "[ -f '$dir/sweep.json' ] && [ \$(ls '$dir/configs' | wc -l) = 6 ] && grep -qx '#SBATCH --array=0-5' '$dir/sweep.sbatch'"
cd "$dir"
queue_empty() { [ -z "$(squeue -h -o %i)" ]; }
job=$(sbatch --parsable sweep.sbatch)
echo "submitted array job $job"

# The last task is cancelled once it has trained past its first checkpoint.
victim=5
name=$(sed -n "$((victim + 1))p" <(ls configs) | sed 's/\.json$//')
past_first_checkpoint() {
  [ -f "runs/$name/checkpoint.json" ] && [ -f "runs/$name/metrics.jsonl" ] \
    && [ "$(wc -l <"runs/$name/metrics.jsonl")" -ge 6 ]
}
if ! wait_for 300 past_first_checkpoint; then
  echo "task $victim never got past its first checkpoint" >&2
  squeue
  tail -n 30 logs/*.log >&2 || true
  fail=$((fail + 1))
  exit 1
fi
scancel "${job}_${victim}"
check "every task leaves the queue (five finish, one is cancelled)" wait_for 300 queue_empty
check "the cancelled task's log says SLURM stopped it" grep -q "== stopped by SIGTERM" "logs/$victim.log"
step=$(python3 -c "import json;print(json.load(open('runs/$name/checkpoint.json'))['step'])")
check "the cancelled run has a checkpoint part-way (step $step of 400)" test "$step" -gt 0 -a "$step" -lt 400

"$BIN" sweep collect . >collect.out 2>&1 || true
check "collect while one task is unfinished: 5 of 6 runs, the cancelled one named with its log" \
  bash -c "grep -q '5 of 6 runs finished' collect.out && grep -q 'task $victim .*stopped by SLURM.*step $step of 400.*logs/$victim.log' collect.out"
cp summary.json summary.first.json
"$BIN" sweep collect . >/dev/null 2>&1 || true
check "collect again gives the same summary.json" cmp -s summary.json summary.first.json

# Submitted again, the task resumes from its checkpoint.
sbatch --parsable --array="$victim" sweep.sbatch >/dev/null
check "the resubmitted task finishes" wait_for 300 queue_empty
check "it resumed from its checkpoint" grep -q "resuming runs/$name at step $step of 400" "logs/$victim.log"
check "its log has the first start and the second" test "$(grep -c '^== task' "logs/$victim.log")" = 2
check "collect: all six runs, nothing unfinished" "$BIN" sweep collect .
check "summary.json: 6 points of 3 values × 2 seeds, each point's run directory exists" python3 - <<'EOF'
import json, os
s = json.load(open("summary.json"))
assert s["kind"] == "icl-lab sweep" and s["seeds"] == 2, s.get("seeds")
assert len(s["points"]) == 6 and not s.get("unfinished"), s.get("unfinished")
assert sorted({p["seed"] for p in s["points"]}) == [0, 1]
assert all(os.path.isfile(os.path.join(p["run"], "eval.json")) for p in s["points"])
assert all(0 <= p["metrics"]["fresh_error"] < 10 for p in s["points"])
EOF
check "the resumed run logged every step once" python3 - "runs/$name/metrics.jsonl" <<'EOF'
import json, sys
steps = [json.loads(l)["step"] for l in open(sys.argv[1]) if l.strip()]
assert steps == sorted(set(steps)) and steps[-1] == 400, steps
EOF
# The same config trained without a stop, on one thread as the task was.
RAYON_NUM_THREADS=1 "$BIN" train --config "configs/$name.json" --out "$work/reference" >/dev/null 2>&1
check "the resumed run's evaluation equals an uninterrupted run's" python3 - "runs/$name/eval.json" "$work/reference/eval.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["evals"] == b["evals"], "the evaluations differ"
EOF
cd - >/dev/null
echo "# pass $pass"
echo "# fail $fail"
[ "$fail" = 0 ]
