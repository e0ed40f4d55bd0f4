package schema

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// NULMember returns where in v (a struct, or a pointer to one, as decoded
// from JSON) a string holds a NUL character, as a JSON path ("username",
// "children[2].name"), or "" when none does. PostgreSQL's text holds no
// NUL, so a request carrying one is refused at the edge, naming the member,
// on every engine (decision 0048); a record's fields (json.RawMessage) are
// checked by EntitySpec.ValidateFields instead.
func NULMember(v any) string {
	return nulIn(reflect.ValueOf(v), "")
}

var (
	rawMessageType    = reflect.TypeOf(json.RawMessage(nil))
	marshalerType     = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	textMarshalerType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// marshals reports whether t (or *t) encodes itself, as one JSON value.
func marshals(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

func nulIn(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return nulIn(v.Elem(), path)
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return path
		}
	case reflect.Struct:
		t := v.Type()
		if marshals(t, marshalerType) || marshals(t, textMarshalerType) {
			// One JSON value (an HLC's text form): named as a whole.
			for i := 0; i < t.NumField(); i++ {
				if t.Field(i).IsExported() && nulIn(v.Field(i), path) != "" {
					return path
				}
			}
			return ""
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-":
				continue
			case f.Anonymous && name == "":
				if p := nulIn(v.Field(i), path); p != "" {
					return p
				}
				continue
			case name == "":
				name = f.Name
			}
			if path != "" {
				name = path + "." + name
			}
			if p := nulIn(v.Field(i), name); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type() == rawMessageType || v.Type().Elem().Kind() == reflect.Uint8 {
			return ""
		}
		for i := 0; i < v.Len(); i++ {
			if p := nulIn(v.Index(i), path+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	case reflect.Map:
		if v.Type().Elem() == rawMessageType {
			return "" // a record's fields: ValidateFields names them
		}
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			name := path
			if k.Kind() == reflect.String {
				if strings.IndexByte(k.String(), 0) >= 0 {
					return path
				}
				name = strings.TrimPrefix(path+"."+k.String(), ".")
			}
			if p := nulIn(iter.Value(), name); p != "" {
				return p
			}
		}
	}
	return ""
}
