#!/bin/sh
# cv_summary of examples/rps/pipeline.yaml: per model family, the test
# accuracy of the chronological holdout (step 1) and of each of the 3
# cross-validation folds (step 3) with their mean and standard deviation,
# from the needed nodes' metrics.json, into cv.json and cv.csv.
set -eu
out=$DAGRUN_OUT
for d in "$DAGRUN_IN"/*/; do
	n=$(basename "$d")
	printf '{"node": "%s", "accuracy": %s, "log_loss": %s}\n' "$n" \
		"$(jq .accuracy "$d/metrics.json")" "$(jq .log_loss "$d/metrics.json")"
done | jq -s '
	map(. + {family: (.node | sub("^(cv|holdout)_"; "") | sub("\\[.*|%.*|\\..*"; "")),
		 step: (if (.node | startswith("cv_")) then "cv" else "holdout" end)})
	| group_by(.family)
	| map({family: .[0].family,
	       holdout_accuracy: (map(select(.step == "holdout")) | .[0].accuracy),
	       folds: (map(select(.step == "cv")) | map(.accuracy)),
	       cv_mean: (map(select(.step == "cv")) | map(.accuracy) | add / length),
	       cv_std: (map(select(.step == "cv")) | map(.accuracy)
	                | (add / length) as $m | map((. - $m) * (. - $m)) | add / length | sqrt)})
	| sort_by(-.cv_mean)' > "$out/cv.json"
jq -r '["family", "holdout_accuracy", "cv_mean", "cv_std"],
	(.[] | [.family, .holdout_accuracy, .cv_mean, .cv_std]) | @csv' "$out/cv.json" > "$out/cv.csv"
cat "$out/cv.csv"
