package pgwire

import "airlock/internal/gateway"

func gatewayOutcome(rows int64, errText string) gateway.Outcome {
	return gateway.Outcome{Rows: rows, Err: errText}
}

func gatewayNotRun() gateway.Outcome { return gateway.Outcome{NotRun: true} }
