package mysqlwire

import (
	"errors"

	"airlock/internal/gateway"
	"airlock/internal/trash"
)

// runRewrite carries out a statement the core rewrote (soft DROP and
// TRUNCATE) through airlock's own queries on the session's connection,
// and answers the client as the statement would have: OK, or the error.
func (c *conn) runRewrite(ch *gateway.Check) error {
	err := ch.Rewrite.Run(func(sql string) ([][]string, error) {
		res, err := c.internal(sql)
		if err != nil {
			return nil, err
		}
		return res.rows, nil
	})
	var se *sqlError
	var te *trash.SQLError
	switch {
	case errors.As(err, &se):
		c.sendERR(se.Code, se.State, se.Message)
		c.statementDone(ch, 0, gateway.Outcome{Err: se.Message})
	case errors.As(err, &te):
		c.sendERR(te.Code, te.State, te.Message)
		c.statementDone(ch, 0, gateway.Outcome{Err: te.Message})
	case err != nil:
		return err
	default:
		writePacket(c.cw, &c.cseq, appendOK(nil, 0, 0, c.up.status, 0))
		c.statementDone(ch, 0, gateway.Outcome{Tag: ch.Rewrite.Tag})
	}
	return nil
}
