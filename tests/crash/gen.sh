#!/bin/sh
# Print a random DAG pipeline for the crash test.
#
#   tests/crash/gen.sh SEED [NODES] [TAG]   (NODES: default 50)
#
# Node nI needs 0 to 3 earlier nodes, sleeps a random 0-0.3 s (skipped
# when CRASH_NOSLEEP is set, which does not change any output), and writes
# out.txt: its id and the SHA-256 of round.txt (roots) or of its inputs'
# out.txt files; every third node also writes data.bin, 4-68 KB derived
# from that hash, so that object writes take measurable time.  The
# outputs are a pure function of round.txt: a run killed at any moment and
# resumed must end with the same bytes as one that never stopped.
# Every command starts with ': dagrun-crash-node-TAG' so that a leftover
# node process of this test can be found with pgrep -f.
seed=${1:?usage: gen.sh SEED [NODES] [TAG]}
nodes=${2:-50}
tag=${3:-0}
awk -v seed="$seed" -v nodes="$nodes" -v tag="$tag" 'BEGIN {
	srand(seed)
	print "pipeline: crash"
	print "description: random DAG for tests/crash (seed " seed ")"
	print "nodes:"
	for (i = 0; i < nodes; i++) {
		id = sprintf("n%02d", i)
		k = i == 0 ? 0 : int(rand() * 4)
		if (k > i) k = i
		needs = ""
		delete used
		for (j = 0; j < k; j++) {
			p = int(rand() * i)
			if (p in used) continue
			used[p] = 1
			needs = needs (needs == "" ? "" : ", ") sprintf("n%02d", p)
		}
		dur = sprintf("%.3f", rand() * 0.3)
		print "  " id ":"
		if (needs == "")
			print "    deps: [round.txt]"
		else
			print "    needs: [" needs "]"
		print "    cmd: |"
		print "      : dagrun-crash-node-" tag " " id
		print "      [ -n \"$CRASH_NOSLEEP\" ] || sleep " dur
		if (needs == "")
			print "      h=$(cat round.txt | sha256sum | cut -c1-64)"
		else
			print "      h=$(for n in $DAGRUN_NEEDS; do cat \"$DAGRUN_IN/$n/out.txt\"; done | sha256sum | cut -c1-64)"
		print "      echo \"" id " $h\" > \"$DAGRUN_OUT/out.txt\""
		if (i % 3 == 0)
			printf "      yes \"%s $h\" | head -c %d > \"$DAGRUN_OUT/data.bin\"\n", id, 4096 * (i % 17 + 1)
	}
}'
