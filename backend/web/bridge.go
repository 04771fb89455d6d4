package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
)

// Error codes the bridge itself produces (services add their own).
const (
	CodeBadRequest    = "bad_request"
	CodeUnknownMethod = "unknown_method"
	CodeInternal      = "internal"
	CodeUnauthorized  = "unauthorized"
)

// CallError is an error as the frontend receives it, in both modes: the web
// bridge returns it as {"error": {...}} and desktop.go hands FormatError to
// Wails' ErrorFormatter so a rejected promise carries the same object.
type CallError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *CallError) Error() string { return e.Message }

// FormatError turns any error into a CallError; errors with an ErrorCode()
// method (services.Error) keep their code, anything else is "internal".
func FormatError(err error) any {
	if err == nil {
		return nil
	}
	var ce *CallError
	if errors.As(err, &ce) {
		return ce
	}
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		return &CallError{Code: coded.ErrorCode(), Message: err.Error()}
	}
	return &CallError{Code: CodeInternal, Message: err.Error()}
}

var (
	errorType   = reflect.TypeOf((*error)(nil)).Elem()
	contextType = reflect.TypeOf((*context.Context)(nil)).Elem()
)

// method is one callable exported method of a bound service.
type method struct {
	fn        reflect.Value
	params    []reflect.Type // JSON-decoded parameters, after an optional context
	takesCtx  bool
	hasResult bool
	hasError  bool
}

// Bridge calls exported methods of service structs by "Service" and "Method" name,
// with the same naming and argument rules as Wails' bindings.
type Bridge struct {
	methods map[string]map[string]*method
}

// NewBridge indexes every exported method of every service (pointers to structs).
// A method's results must be (), (T), (error) or (T, error), as Wails requires.
func NewBridge(services ...any) (*Bridge, error) {
	b := &Bridge{methods: map[string]map[string]*method{}}
	for _, svc := range services {
		v := reflect.ValueOf(svc)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			return nil, fmt.Errorf("web: bind %T: need a pointer to a struct", svc)
		}
		name := v.Elem().Type().Name()
		if _, dup := b.methods[name]; dup {
			return nil, fmt.Errorf("web: service %s bound twice", name)
		}
		ms := map[string]*method{}
		t := v.Type()
		for i := 0; i < t.NumMethod(); i++ {
			m := t.Method(i) // only exported methods are listed
			mt := m.Type
			bm := &method{fn: v.Method(i)}
			for j := 1; j < mt.NumIn(); j++ { // 0 is the receiver
				p := mt.In(j)
				if j == 1 && p == contextType {
					bm.takesCtx = true
					continue
				}
				bm.params = append(bm.params, p)
			}
			switch mt.NumOut() {
			case 0:
			case 1:
				bm.hasError = mt.Out(0) == errorType
				bm.hasResult = !bm.hasError
			case 2:
				if mt.Out(1) != errorType {
					return nil, fmt.Errorf("web: %s.%s: second result must be error", name, m.Name)
				}
				bm.hasResult, bm.hasError = true, true
			default:
				return nil, fmt.Errorf("web: %s.%s: at most two results", name, m.Name)
			}
			ms[m.Name] = bm
		}
		b.methods[name] = ms
	}
	return b, nil
}

// Methods lists "Service.Method" names, sorted: for logs and tests.
func (b *Bridge) Methods() []string {
	var out []string
	for s, ms := range b.methods {
		for m := range ms {
			out = append(out, s+"."+m)
		}
	}
	sort.Strings(out)
	return out
}

// Call decodes args into the method's parameter types, calls it and returns its
// result. Errors are *CallError or the method's own error.
func (b *Bridge) Call(ctx context.Context, service, name string, args []json.RawMessage) (result any, err error) {
	m := b.methods[service][name]
	if m == nil {
		return nil, &CallError{Code: CodeUnknownMethod, Message: fmt.Sprintf("no method %s.%s", service, name)}
	}
	if len(args) != len(m.params) {
		return nil, &CallError{Code: CodeBadRequest, Message: fmt.Sprintf("%s.%s takes %d arguments, got %d", service, name, len(m.params), len(args))}
	}
	in := make([]reflect.Value, 0, len(m.params)+1)
	if m.takesCtx {
		in = append(in, reflect.ValueOf(ctx))
	}
	for i, p := range m.params {
		ptr := reflect.New(p)
		if err := json.Unmarshal(args[i], ptr.Interface()); err != nil {
			return nil, &CallError{Code: CodeBadRequest, Message: fmt.Sprintf("%s.%s argument %d: %v", service, name, i+1, err)}
		}
		in = append(in, ptr.Elem())
	}
	defer func() {
		// A panicking service must not take the server down; Wails recovers too.
		if r := recover(); r != nil {
			result, err = nil, &CallError{Code: CodeInternal, Message: fmt.Sprintf("%s.%s panicked: %v", service, name, r)}
		}
	}()
	out := m.fn.Call(in)
	if m.hasError {
		if e := out[len(out)-1]; !e.IsNil() {
			return nil, e.Interface().(error)
		}
	}
	if m.hasResult {
		return out[0].Interface(), nil
	}
	return nil, nil
}
