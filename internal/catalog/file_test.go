package catalog

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestParseGood: files that pass, and what each does to the catalogue.
func TestParseGood(t *testing.T) {
	for _, tc := range []struct {
		name  string
		file  string
		check func(t *testing.T, c *Catalog)
	}{
		{"empty", "", func(t *testing.T, c *Catalog) {
			if len(c.All()) != len(Default().All()) {
				t.Errorf("an empty file lists %d products, the built-in catalogue %d", len(c.All()), len(Default().All()))
			}
		}},
		{"comments, blank lines, BOM, CRLF", "\ufeff# operator's catalogue\r\n\r\n   # indented comment\r\ndisable ssl_dv_rapidssl\r\n", func(t *testing.T, c *Catalog) {
			requireDisabled(t, c, "ssl_dv_rapidssl")
		}},
		{"disable", "disable class1_smime\ndisable\tx9_pki\n", func(t *testing.T, c *Catalog) {
			requireDisabled(t, c, "class1_smime")
			requireDisabled(t, c, "x9_pki")
			requireEnabled(t, c, "ssl_securesite")
		}},
		{"disable * and enable", "enable ssl_basic\ndisable *\nenable private_ssl_plus\n", func(t *testing.T, c *Catalog) {
			requireEnabled(t, c, "ssl_basic")
			requireEnabled(t, c, "private_ssl_plus")
			requireDisabled(t, c, "ssl_securesite")
			if n := len(c.All()); n != 2 {
				t.Errorf("%d products listed, want 2", n)
			}
		}},
		{"name keeps inner spaces and # and trims the end", "name ssl_securesite   Secure Site  SSL #1 (internal)  \t\n", func(t *testing.T, c *Catalog) {
			if p, _ := c.Orderable("ssl_securesite"); p.Name != "Secure Site  SSL #1 (internal)" {
				t.Errorf("name = %q", p.Name)
			}
		}},
		{"name in Unicode", "name ssl_plus Zertifikat für Übungen\n", func(t *testing.T, c *Catalog) {
			if p, _ := c.Orderable("ssl_plus"); p.Name != "Zertifikat für Übungen" {
				t.Errorf("name = %q", p.Name)
			}
		}},
		{"prices", "price ssl_securesite 149\nprice ssl_plus 0.5\nprice ssl_basic 1000000.00\nprice x9_pki 0\n", func(t *testing.T, c *Catalog) {
			for id, want := range map[string]int64{"ssl_securesite": 14900, "ssl_plus": 50, "ssl_basic": 100_000_000, "x9_pki": 0} {
				if p, _ := c.Orderable(id); p.PriceCents != want {
					t.Errorf("%s price %d cents, want %d", id, p.PriceCents, want)
				}
			}
		}},
		{"alias, defined after its use elsewhere", "name ssl_securesite Web\nalias web-server ssl_securesite\nalias ssl_any ssl\n", func(t *testing.T, c *Catalog) {
			p, ok := c.Orderable("web-server")
			if !ok || p.NameID != "ssl_securesite" || p.Name != "Web" {
				t.Errorf("alias web-server orders %+v, %v; want ssl_securesite named Web", p.NameID, ok)
			}
			if _, ok := c.Lookup("web-server"); ok {
				t.Error("Lookup finds an alias; orders record the product's name_id")
			}
			if p, err := c.ForOrder("ssl_any", "*.example.com", nil); err != nil || p.NameID != "ssl_wildcard" {
				t.Errorf("alias of the determinator orders %q, %v; want ssl_wildcard", p.NameID, err)
			}
			for _, p := range c.All() {
				if p.NameID == "web-server" {
					t.Error("GET /product would list an alias as a product")
				}
			}
		}},
		{"disabled products stay known to Lookup", "disable ssl_securesite\n", func(t *testing.T, c *Catalog) {
			if _, ok := c.Lookup("ssl_securesite"); !ok {
				t.Error("Lookup lost a disabled product; its existing orders would lose their product")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("catalog.txt", strings.NewReader(tc.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tc.check(t, c)
			if Default().disabled["ssl_securesite"] || len(Default().aliases) != 0 {
				t.Fatal("a catalogue file changed the built-in catalogue")
			}
		})
	}
}

// TestParseErrors: each kind of problem, reported with its line and
// column; a file with several problems lists them all, in line order.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		want []string // "line:col: part of the message", col 0 for none
	}{
		{"unknown directive", "# ok\nremove ssl_plus\n", []string{"2:1: unknown directive \"remove\""}},
		{"unknown product", "disable  ssl_nope\n", []string{"1:10: no product has the name_id \"ssl_nope\""}},
		{"missing name_id", "disable\n", []string{"1:8: disable needs a product's name_id"}},
		{"missing display name", "name ssl_plus   \n", []string{"1:14: name needs a product's name_id and its display name"}},
		{"extra word", "disable ssl_plus ssl_basic\n", []string{"1:18: unexpected \"ssl_basic\""}},
		{"price not a number", "price ssl_plus 12,50\n", []string{"1:16: price \"12,50\" is not an amount"}},
		{"price with three decimals", "price ssl_plus 1.505\n", []string{"1:16: price \"1.505\""}},
		{"negative price", "price ssl_plus -1\n", []string{"1:16: price \"-1\""}},
		{"price too high", "price ssl_plus 1000000.01\n", []string{"1:16: at most 1000000"}},
		{"price twice", "price ssl_plus 1\n\nprice ssl_plus 2\n", []string{"3:7: price ssl_plus repeats line 1"}},
		{"name twice", "name ssl_plus A\nname ssl_plus B\n", []string{"2:6: name ssl_plus repeats line 1"}},
		{"name too long", "name ssl_plus " + strings.Repeat("é", 129) + "\n", []string{"1:15: 129 characters, more than 128"}},
		{"name with a control character", "name ssl_plus A\x07B\n", []string{"1:15: control character U+0007"}},
		{"invalid UTF-8", "name ssl_plus ab\xffc\n", []string{"1:17: not valid UTF-8"}},
		{"disable twice", "disable x9_pki\ndisable x9_pki\n", []string{"2:9: disable x9_pki repeats line 1"}},
		{"disable * twice", "disable *\nenable x9_pki\ndisable *\n", []string{"3:9: disable * repeats line 1"}},
		{"enable without disable *", "enable x9_pki\n", []string{"1:0: without disable * every product is enabled already"}},
		{"enable and disable one product", "disable *\nenable x9_pki\ndisable x9_pki\n", []string{"3:9: x9_pki is enabled on line 2"}},
		{"alias bad syntax", "alias Web_Server ssl_plus\n", []string{"1:7: alias \"Web_Server\" must be"}},
		{"alias is a product", "alias ssl_basic ssl_plus\n", []string{"1:7: alias \"ssl_basic\" is a product's name_id already"}},
		{"alias twice", "alias web ssl_plus\nalias web ssl_basic\n", []string{"2:7: alias web repeats line 1"}},
		{"alias of an alias", "alias web ssl_plus\nalias www web\n", []string{"2:11: \"web\" is an alias"}},
		{"alias of an unknown product", "alias web ssl_nope\n", []string{"1:11: no product has the name_id \"ssl_nope\""}},
		{"alias of a disabled product", "disable *\nenable ssl_basic\nalias web ssl_plus\n", []string{"3:11: ssl_plus is disabled, so alias web could order nothing"}},
		{"alias used as a product", "alias web ssl_plus\nprice web 10\n", []string{"2:7: \"web\" is an alias, not a product's name_id"}},
		{"alias missing its product", "alias web\n", []string{"1:10: alias needs the alias and the name_id"}},
		{"every problem, in line order", "price ssl_plus x\nfrobnicate\nname nope N\n", []string{
			"1:16: price \"x\"", "2:1: unknown directive \"frobnicate\"", "3:6: no product has the name_id \"nope\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("ops/catalog.txt", strings.NewReader(tc.file))
			if err == nil {
				t.Fatalf("Parse accepted the file: %d products", len(c.All()))
			}
			var fe FileErrors
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not FileErrors", err)
			}
			if len(fe) != len(tc.want) {
				t.Fatalf("%d errors, want %d: %v", len(fe), len(tc.want), err)
			}
			for i, w := range tc.want {
				pos, msg, _ := strings.Cut(w, ": ")
				var line, col int
				if _, err := fmt.Sscanf(pos, "%d:%d", &line, &col); err != nil {
					t.Fatalf("bad want %q", w)
				}
				got := fe[i]
				if got.File != "ops/catalog.txt" || got.Line != line || got.Col != col || !strings.Contains(got.Msg, msg) {
					t.Errorf("error %d = %v, want line %d column %d with %q", i, got, line, col, msg)
				}
			}
			if !strings.Contains(err.Error(), "ops/catalog.txt:") {
				t.Errorf("message %q does not name the file", err)
			}
		})
	}
}

// TestParseTooLarge: a file over MaxFileSize is refused before parsing.
func TestParseTooLarge(t *testing.T) {
	big := strings.Repeat("# padding line\n", MaxFileSize/15+1)
	if _, err := Parse("big.txt", strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Parse of %d bytes: %v, want a refusal for its size", len(big), err)
	}
}

func requireDisabled(t *testing.T, c *Catalog, id string) {
	t.Helper()
	if _, ok := c.Orderable(id); ok {
		t.Errorf("%s can still be ordered", id)
	}
	for _, p := range c.All() {
		if p.NameID == id {
			t.Errorf("%s is still listed", id)
		}
	}
}

func requireEnabled(t *testing.T, c *Catalog, id string) {
	t.Helper()
	if _, ok := c.Orderable(id); !ok {
		t.Errorf("%s cannot be ordered", id)
	}
}

// TestREADMEExample: the example of README's "The catalogue file" is a
// file certorder accepts, and does what the README says.
func TestREADMEExample(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## The catalogue file")
	_, block, ok2 := strings.Cut(section, "```\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README has no example under \"## The catalogue file\"")
	}
	c, err := Parse("README.md", strings.NewReader(block))
	if err != nil {
		t.Fatalf("the README's example is refused: %v", err)
	}
	var ids []string
	for _, p := range c.All() {
		ids = append(ids, p.NameID)
	}
	if strings.Join(ids, " ") != "private_ssl_plus private_ssl_wildcard ssl_securesite" {
		t.Errorf("the example enables %v", ids)
	}
	if p, ok := c.Orderable("web"); !ok || p.NameID != "ssl_securesite" || p.PriceCents != 4950 || p.Name != "Intranet Web Server Certificate" {
		t.Errorf("alias web orders %+v", p)
	}
}
