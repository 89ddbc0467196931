package route

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/herald-io/herald/internal/eventlog"
)

// costLimit bounds one evaluation of an expression (CEL's cost units): a
// route cannot spin a node's CPU on a crafted expression or event.
const costLimit = 100_000

// programs are a route's compiled expressions.
type programs struct {
	when   cel.Program // nil: every event of the route's topics
	params cel.Program
}

// newEnv is the CEL environment of routes: `event` (seq, id, time, topic,
// type) and `data`, the event's payload as JSON values.
func newEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("event", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("data", cel.DynType),
		ext.Strings(), ext.Encoders(), ext.Math(), ext.Lists(),
	)
}

// ErrExpression wraps a route expression that does not compile or does not
// have the type its place needs.
var ErrExpression = errors.New("bad expression")

func compile(env *cel.Env, when, params string) (programs, error) {
	var p programs
	if when != "" {
		prg, err := compileOne(env, "when", when, cel.BoolType)
		if err != nil {
			return p, err
		}
		p.when = prg
	}
	prg, err := compileOne(env, "params", params, nil)
	if err != nil {
		return p, err
	}
	p.params = prg
	return p, nil
}

func compileOne(env *cel.Env, what, src string, want *cel.Type) (cel.Program, error) {
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrExpression, what, iss.Err())
	}
	out := ast.OutputType()
	if want != nil && !out.IsExactType(want) && !out.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("%w: %s must be %s, not %s", ErrExpression, what, want, out)
	}
	if want == nil && out.Kind() != types.MapKind && out.Kind() != types.DynKind {
		return nil, fmt.Errorf("%w: %s must be a map, like {'topic': 'app.x'}, not %s", ErrExpression, what, out)
	}
	return env.Program(ast, cel.CostLimit(costLimit), cel.EvalOptions(cel.OptOptimize))
}

// activation is what an expression sees of an event.
func activation(ev *eventlog.Event) (map[string]any, error) {
	var data any
	if len(ev.Data) > 0 {
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			data = string(ev.Data) // not JSON: the text
		}
	}
	return map[string]any{
		"event": map[string]any{
			"seq": int64(ev.Seq), "id": ev.ID, "time": ev.Time.UTC().Format(time.RFC3339Nano),
			"topic": ev.Topic, "type": ev.Type,
		},
		"data": data,
	}, nil
}

// ErrEval wraps an expression that failed on an event (a missing field, a
// wrong type, over its cost limit).
var ErrEval = errors.New("expression failed")

// match says whether the route acts on ev.
func (p programs) match(vars map[string]any) (bool, error) {
	if p.when == nil {
		return true, nil
	}
	out, _, err := p.when.Eval(vars)
	if err != nil {
		return false, fmt.Errorf("%w: when: %v", ErrEval, err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("%w: when gave %s, not a bool", ErrEval, out.Type())
	}
	return bool(b), nil
}

// paramsOf evaluates the route's params on ev, as JSON values.
func (p programs) paramsOf(vars map[string]any) (map[string]any, error) {
	out, _, err := p.params.Eval(vars)
	if err != nil {
		return nil, fmt.Errorf("%w: params: %v", ErrEval, err)
	}
	native, err := out.ConvertToNative(reflect.TypeFor[*structpb.Value]())
	if err != nil {
		return nil, fmt.Errorf("%w: params: %v", ErrEval, err)
	}
	raw, err := protojson.Marshal(native.(*structpb.Value))
	if err != nil {
		return nil, fmt.Errorf("%w: params: %v", ErrEval, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: params must be a map, not %s", ErrEval, raw)
	}
	return m, nil
}
