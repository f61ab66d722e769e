package policy

import (
	"fmt"

	"cel.dev/cel-go/cel"
)

var celEnv = func() *cel.Env {
	// Each fact is its own typed variable ("stmt.kind" is one name), so
	// that a misspelt fact or a wrong type is a compile error at start,
	// not a surprise at run time.
	strs := cel.ListType(cel.StringType)
	env, err := cel.NewEnv(
		cel.Variable("stmt.kind", cel.StringType),
		cel.Variable("stmt.level", cel.StringType),
		cel.Variable("stmt.tables", strs),
		cel.Variable("stmt.functions", strs),
		cel.Variable("stmt.has_where", cel.BoolType),
		cel.Variable("stmt.has_limit", cel.BoolType),
		cel.Variable("stmt.text", cel.StringType),
		cel.Variable("user.name", cel.StringType),
		cel.Variable("user.groups", strs),
		cel.Variable("db.name", cel.StringType),
		cel.Variable("db.engine", cel.StringType),
		cel.Variable("session.level", cel.StringType),
		cel.Variable("session.agent", cel.BoolType),
		cel.Variable("session.on_behalf_of", cel.StringType),
		cel.Variable("now", cel.TimestampType),
	)
	if err != nil {
		panic(err)
	}
	return env
}()

// compileCEL compiles a rule expression, which must be boolean.
func compileCEL(expr string) (func(map[string]any) (bool, error), error) {
	ast, iss := celEnv.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("invalid expression: %s", iss.Err())
	}
	if ast.OutputType() != cel.BoolType {
		return nil, fmt.Errorf("expression must be true or false, it gives %s", ast.OutputType())
	}
	prg, err := celEnv.Program(ast)
	if err != nil {
		return nil, fmt.Errorf("invalid expression: %w", err)
	}
	return func(vars map[string]any) (bool, error) {
		out, _, err := prg.Eval(vars)
		if err != nil {
			return false, err
		}
		b, ok := out.Value().(bool)
		if !ok {
			return false, fmt.Errorf("expression gave %v, not true or false", out.Value())
		}
		return b, nil
	}, nil
}
