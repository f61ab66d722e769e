package audit

import (
	"reflect"
	"testing"
	"time"

	"airlock"
)

// TestEveryEventFieldIsHashed sets each field of airlock.Event in turn, found
// by reflection so that a field added later is covered without editing this
// test, and checks that the chain hash changes: a field left out of
// Canonical could be altered in the store without breaking the chain.
func TestEveryEventFieldIsHashed(t *testing.T) {
	// Hash is the result, and PrevHash enters the hash as ChainHash's prev
	// argument (checked below), not through the event's own field.
	outside := map[string]bool{"Hash": true, "PrevHash": true}
	base := &airlock.Event{Type: "statement", Action: "executed"}
	baseHash := ChainHash("", base)
	typ := reflect.TypeOf(*base)
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if outside[f.Name] {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			ev := *base
			v := reflect.ValueOf(&ev).Elem().Field(i)
			setNonZero(t, f, v)
			if got := ChainHash("", &ev); got == baseHash {
				t.Errorf("setting Event.%s leaves the chain hash unchanged: Canonical omits it", f.Name)
			}
		})
	}
	if ChainHash("a", base) == ChainHash("b", base) {
		t.Error("the previous hash does not reach the chain hash")
	}
}

// setNonZero gives v, the field f of an Event, a value different from the
// base event's. A field of a kind it does not know fails the test, so that a
// new field type gets a value here instead of being passed over.
func setNonZero(t *testing.T, f reflect.StructField, v reflect.Value) {
	t.Helper()
	if f.Type == reflect.TypeOf(time.Time{}) {
		v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)))
		return
	}
	switch f.Type.Kind() {
	case reflect.String:
		v.SetString("x-" + f.Name) // differs from every base value
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		if f.Type.Elem().Kind() != reflect.String {
			t.Fatalf("Event.%s: no test value for %s", f.Name, f.Type)
		}
		v.Set(reflect.ValueOf([]string{"x"}).Convert(f.Type))
	case reflect.Map:
		if f.Type.Key().Kind() != reflect.String || f.Type.Elem().Kind() != reflect.String {
			t.Fatalf("Event.%s: no test value for %s", f.Name, f.Type)
		}
		v.Set(reflect.ValueOf(map[string]string{"k": "v"}).Convert(f.Type))
	default:
		t.Fatalf("Event.%s: no test value for %s", f.Name, f.Type)
	}
}
