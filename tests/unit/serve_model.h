/* serve_model: the model the serve tests and the serve request fuzz
 * target load: a persistence baseline (forecaster.h's model.json) over
 * columns a and OT, a time feature and a lag of the target, 3 rows in and
 * 2 out, 1 warm-up row, every scaler the identity, so that the warm-up,
 * the windows and the horizon are all exercised. */
#ifndef DAGRUN_TEST_SERVE_MODEL_H
#define DAGRUN_TEST_SERVE_MODEL_H

static const char serve_model_json[] =
	"{\"type\": \"baseline\", \"method\": \"persistence\", \"season\": null,"
	" \"mean\": null, \"target\": \"OT\", \"input_seq_len\": 3,"
	" \"output_seq_len\": 2, \"meta\": {\"features\": [\"a\", \"OT\","
	" \"min_of_day_sin\", \"min_of_day_cos\", \"OT_lag_1\"], \"target\": \"OT\","
	" \"target_index\": 1, \"input_seq_len\": 3, \"output_seq_len\": 2,"
	" \"scaler\": {\"kind\": \"standard\", \"params\": {"
	"\"a\": {\"mean\": 0, \"std\": 1}, \"OT\": {\"mean\": 0, \"std\": 1},"
	"\"min_of_day_sin\": {\"mean\": 0, \"std\": 1},"
	"\"min_of_day_cos\": {\"mean\": 0, \"std\": 1},"
	"\"OT_lag_1\": {\"mean\": 0, \"std\": 1}}},"
	" \"target_scaler\": {\"kind\": \"standard\", \"params\": {\"OT\": "
	"{\"mean\": 0, \"std\": 1}}}}}";

#endif
