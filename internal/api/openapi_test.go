package api

import (
	"reflect"
	"testing"
)

// TestOpenAPIPaths: mux patterns become OpenAPI paths and operation ids.
func TestOpenAPIPaths(t *testing.T) {
	for _, tc := range []struct {
		pattern, method, path, shape, opID string
		ok                                 bool
	}{
		{"GET /services/v2/order/certificate/{id}", "get", "/services/v2/order/certificate/{id}", "/services/v2/order/certificate/{}", "get_services_v2_order_certificate_id", true},
		{"POST /services/v2/order/certificate/{product}", "post", "/services/v2/order/certificate/{product}", "/services/v2/order/certificate/{}", "post_services_v2_order_certificate_product", true},
		{"GET /ocsp/{request...}", "get", "/ocsp/{request}", "/ocsp/{}", "get_ocsp_request", true},
		{"GET /console/{$}", "get", "/console/", "/console/", "get_console", true},
		{"GET /assets/", "get", "/assets/{path}", "/assets/{}", "get_assets", true},
		{"PUT /organization/{id}/validation/{type}", "put", "/organization/{id}/validation/{type}", "/organization/{}/validation/{}", "put_organization_id_validation_type", true},
		{"/console/", "", "", "", "", false},
	} {
		method, path, ok := openAPIPath(tc.pattern)
		if method != tc.method || path != tc.path || ok != tc.ok {
			t.Errorf("openAPIPath(%q) = %q %q %v, want %q %q %v", tc.pattern, method, path, ok, tc.method, tc.path, tc.ok)
		}
		if !ok {
			continue
		}
		if got := pathShape(path); got != tc.shape {
			t.Errorf("pathShape(%q) = %q, want %q", path, got, tc.shape)
		}
		if got := operationID(tc.pattern); got != tc.opID {
			t.Errorf("operationID(%q) = %q, want %q", tc.pattern, got, tc.opID)
		}
	}
}

type reflected struct {
	ID       int64          `json:"id"`
	Name     string         `json:"name,omitempty"`
	Parent   *reflectedPart `json:"parent"`
	Child    *reflectedPart `json:"child,omitempty"`
	Tags     []string       `json:"tags"`
	Skipped  string         `json:"-"`
	internal int
	reflectedEmbed
}

type reflectedPart struct {
	N int `json:"n"`
}

type reflectedEmbed struct {
	Flat bool `json:"flat"`
	// Hidden by reflected.Name, the shallower field: encoding/json never
	// writes it, so it is neither an integer nor required.
	Name int `json:"name"`
}

// TestReflectedSchema: an answer's schema is what encoding/json writes:
// json names, omitempty fields optional, pointers without omitempty
// nullable, "-" and unexported fields left out, embedded fields flattened
// (a name they share with a shallower field is that field's), closed
// objects; a request's is open and has nothing required.
func TestReflectedSchema(t *testing.T) {
	g := &schemaGen{names: map[reflect.Type]string{}, comps: schema{}, taken: map[string]reflect.Type{}}
	if ref := g.of(reflect.TypeFor[reflected](), false, false); ref["$ref"] != "#/components/schemas/Reflected" {
		t.Fatalf("ref = %v", ref)
	}
	s := g.comps["Reflected"].(schema)
	props := s["properties"].(schema)
	want := []string{"child", "flat", "id", "name", "parent", "tags"}
	var got []string
	for k := range props {
		got = append(got, k)
	}
	if len(got) != len(want) {
		t.Errorf("properties %v, want %v", got, want)
	}
	if r := s["required"].([]string); !reflect.DeepEqual(r, []string{"flat", "id", "parent", "tags"}) {
		t.Errorf("required = %v", r)
	}
	if name := props["name"].(schema); name["type"] != "string" {
		t.Errorf("name = %v, want reflected.Name's string", name)
	}
	if s["additionalProperties"] != false {
		t.Error("an answer's object is open")
	}
	if _, nullable := props["parent"].(schema)["anyOf"]; !nullable {
		t.Errorf("parent (a pointer without omitempty) = %v, want nullable", props["parent"])
	}
	if _, nullable := props["child"].(schema)["anyOf"]; nullable {
		t.Errorf("child (omitempty) = %v, want not nullable", props["child"])
	}
	g.of(reflect.TypeFor[reflected](), true, false)
	in := g.comps["ReflectedRequest"].(schema)
	if in["required"] != nil || in["additionalProperties"] != nil {
		t.Errorf("request schema = %v, want open with nothing required", in)
	}
}
