package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

// TestLintCertificateIsZlints: certorder's loop over a registry finds
// what zlint.LintCertificateEx finds, errors and warnings alike, on clean
// certificates of every purpose and on ones made to fail.
func TestLintCertificateIsZlints(t *testing.T) {
	h := rsaHierarchy(t)
	regs, err := lintRegistries()
	if err != nil {
		t.Fatal(err)
	}
	var ders [][]byte
	for _, p := range []Profile{ProfileCodeSigning, ProfileSMIMEMailbox, ProfileSMIMESponsor, ProfileClientAuth, ProfileX9TLS, ProfilePrivateTLS} {
		req := profileRequest(t, h, p, map[bool]string{true: "rsa3072", false: "p256"}[PurposeOf(p) == PurposeCodeSigning], false)
		d, err := h.Draft(req)
		if err != nil {
			t.Fatal(err)
		}
		ders = append(ders, d.lint)
	}
	// Failing ones: a validity beyond every limit, a name with an
	// underscore, no key usage.
	req := leafRequest(t, h, ProfileOVTLS, testKey(t, "p256"), "")
	tmpl, err := h.leafTemplate(req)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.NotAfter = tmpl.NotBefore.Add(500 * 24 * time.Hour)
	tmpl.DNSNames = append(tmpl.DNSNames, "bad_name.example.com")
	tmpl.KeyUsage = 0
	d, err := h.DefaultIssuer().draft(rand.Reader, tmpl, req.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ders = append(ders, d.lint)
	// And two configurable lints failing: an HTML entity in the subject
	// and a key whose private scalar is 5.
	tmpl.RawSubject = mustSubject(t, "www.example.com &amp; co")
	x, y := elliptic.P256().ScalarBaseMult([]byte{5})
	weak := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	if d, err = h.DefaultIssuer().draft(rand.Reader, tmpl, weak); err != nil {
		t.Fatal(err)
	}
	ders = append(ders, d.lint)
	for i, der := range ders {
		c, err := zx509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		for _, reg := range append([]lint.Registry{regs.certs, regs.private}, slices.Collect(maps.Values(regs.leaves))...) {
			gotErrs, gotWarns := lintCertificate(c, reg, fixedKey(der, c))
			wantErrs, wantWarns := splitResults(zlint.LintCertificateEx(c, reg))
			if !reflect.DeepEqual(gotErrs, wantErrs) || !reflect.DeepEqual(gotWarns, wantWarns) {
				t.Errorf("certificate %d: certorder's loop found %v %v, zlint %v %v", i, gotErrs, gotWarns, wantErrs, wantWarns)
			}
		}
		if i == len(ders)-1 {
			errs, _ := lintCertificate(c, regs.certs, "")
			all := strings.Join(errs, "\n")
			for _, want := range []string{"e_subj_contains_html_entities:", "e_ecdsa_small_private_key:"} {
				if !strings.Contains(all, want) {
					t.Errorf("the failing certificate does not fail %s: %v", want, errs)
				}
			}
		}
	}
}

// TestSharedLintsKeepNoState reads the zlint source of every sharedLints
// lint and holds it to what sharing one instance among certificates and
// goroutines needs: its fields are of types that concurrent reads cannot
// harm, and no method of its type (in any file of its package) assigns
// to the instance or anything reached through it, takes an address in
// it, hands it or a field to another function, or calls a method of a
// field other than the read-only ones listed. A zlint upgrade that gives
// one of them state fails here.
func TestSharedLintsKeepNoState(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/zmap/zlint/v3").Output()
	if err != nil {
		t.Fatalf("go list zlint: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(out)), "lints")
	safeFields := map[string]bool{"*regexp.Regexp": true, "map[string]string": true, "*big.Int": true}
	readOnly := map[string]bool{"MatchString": true, "Match": true, "Cmp": true}
	for name := range sharedLints {
		t.Run(name, func(t *testing.T) {
			file, typ := findLintSource(t, root, name)
			fset := token.NewFileSet()
			pkgFiles, err := filepath.Glob(filepath.Join(filepath.Dir(file), "*.go"))
			if err != nil {
				t.Fatal(err)
			}
			methods := 0
			for _, f := range pkgFiles {
				if strings.HasSuffix(f, "_test.go") {
					continue
				}
				af, err := parser.ParseFile(fset, f, nil, 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range af.Decls {
					switch d := d.(type) {
					case *ast.GenDecl:
						for _, sp := range d.Specs {
							ts, ok := sp.(*ast.TypeSpec)
							if !ok || ts.Name.Name != typ {
								continue
							}
							st, ok := ts.Type.(*ast.StructType)
							if !ok {
								t.Fatalf("%s is not a struct", typ)
							}
							for _, fl := range st.Fields.List {
								if ft := types.ExprString(fl.Type); !safeFields[ft] {
									t.Errorf("%s has a field of type %s", typ, ft)
								}
							}
						}
					case *ast.FuncDecl:
						if d.Recv == nil || len(d.Recv.List) != 1 || strings.TrimPrefix(types.ExprString(d.Recv.List[0].Type), "*") != typ {
							continue
						}
						methods++
						if len(d.Recv.List[0].Names) == 0 {
							continue // no receiver name: the body cannot reach it
						}
						recv := d.Recv.List[0].Names[0].Name
						for _, bad := range receiverWrites(d.Body, recv, readOnly) {
							t.Errorf("%s.%s: %s at %s", typ, d.Name.Name, bad.what, fset.Position(bad.pos))
						}
					}
				}
			}
			if methods == 0 {
				t.Fatalf("no method of %s found", typ)
			}
		})
	}
}

// findLintSource is the file that registers the lint name, and the type
// its Execute method belongs to.
func findLintSource(t *testing.T, root, name string) (file, typ string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), `Name: `) || !strings.Contains(string(b), `"`+name+`"`) {
			return nil
		}
		af, err := parser.ParseFile(token.NewFileSet(), path, b, 0)
		if err != nil {
			return err
		}
		for _, decl := range af.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Name.Name == "Execute" && fd.Recv != nil {
				file, typ = path, strings.TrimPrefix(types.ExprString(fd.Recv.List[0].Type), "*")
			}
		}
		return nil
	})
	if err != nil || file == "" {
		t.Fatalf("source of %s not found under %s: %v", name, root, err)
	}
	return file, typ
}

type receiverUse struct {
	what string
	pos  token.Pos
}

// receiverWrites lists what in body could change the instance recv names:
// an assignment or increment of something rooted at it, its address or a
// field's taken, it or a field passed to a function, a method of a field
// called that is not in readOnly.
func receiverWrites(body *ast.BlockStmt, recv string, readOnly map[string]bool) []receiverUse {
	rooted := func(e ast.Expr) bool {
		for {
			switch x := e.(type) {
			case *ast.Ident:
				return x.Name == recv
			case *ast.SelectorExpr:
				e = x.X
			case *ast.IndexExpr:
				e = x.X
			case *ast.StarExpr:
				e = x.X
			case *ast.ParenExpr:
				e = x.X
			case *ast.SliceExpr:
				e = x.X
			default:
				return false
			}
		}
	}
	var out []receiverUse
	if body == nil {
		return nil
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if rooted(l) {
					out = append(out, receiverUse{"assigns " + types.ExprString(l), n.Pos()})
				}
			}
		case *ast.IncDecStmt:
			if rooted(n.X) {
				out = append(out, receiverUse{"changes " + types.ExprString(n.X), n.Pos()})
			}
		case *ast.RangeStmt:
			for _, e := range []ast.Expr{n.Key, n.Value} {
				if e != nil && n.Tok == token.ASSIGN && rooted(e) {
					out = append(out, receiverUse{"ranges into " + types.ExprString(e), n.Pos()})
				}
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND && rooted(n.X) {
				out = append(out, receiverUse{"takes the address of " + types.ExprString(n.X), n.Pos()})
			}
		case *ast.CallExpr:
			for _, a := range n.Args {
				if rooted(a) {
					out = append(out, receiverUse{"passes " + types.ExprString(a), n.Pos()})
				}
			}
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && rooted(sel.X) {
				if id, ok := sel.X.(*ast.Ident); !(ok && id.Name == recv) && !readOnly[sel.Sel.Name] {
					out = append(out, receiverUse{"calls " + types.ExprString(n.Fun), n.Pos()})
				}
			}
		}
		return true
	})
	return out
}

// TestReceiverWrites: the source check of TestSharedLintsKeepNoState
// finds each way a method could change its instance, and lets reads be.
func TestReceiverWrites(t *testing.T) {
	readOnly := map[string]bool{"MatchString": true, "Cmp": true}
	for _, tc := range []struct {
		body string
		bad  bool
	}{
		{`return l.re.MatchString(s)`, false},
		{`v := l.m["a"]; _ = v; return l.n.Cmp(x) > 0`, false},
		{`for k, v := range l.m { _, _ = k, v }`, false},
		{`l.re = nil`, true},
		{`l.m["a"] = "b"`, true},
		{`l.count++`, true},
		{`l.n.Add(l.n, x)`, true},
		{`p := &l.n; _ = p`, true},
		{`mutate(l)`, true},
		{`mutate(l.m)`, true},
		{`var k string; for k = range l.m {}; l.arr[0], x = 1, 2`, true},
	} {
		src := "package p\nfunc (l *T) M() {\n" + tc.body + "\n}\n"
		af, err := parser.ParseFile(token.NewFileSet(), "x.go", src, 0)
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		fd := af.Decls[0].(*ast.FuncDecl)
		if got := len(receiverWrites(fd.Body, "l", readOnly)) > 0; got != tc.bad {
			t.Errorf("%s: flagged %v, want %v", tc.body, got, tc.bad)
		}
	}
}

// TestLintCertificateIsZlintsGenerated: on generated certificates (every
// field drawn at random, names and subjects made to break lints now and
// then, under RSA, P-256 and P-384 issuers and subscriber keys), linted
// by two goroutines at once, certorder's loop finds what zlint finds with
// every registry certorder lints with.
func TestLintCertificateIsZlintsGenerated(t *testing.T) {
	regs, err := lintRegistries()
	if err != nil {
		t.Fatal(err)
	}
	registries := append([]lint.Registry{regs.certs, regs.private}, slices.Collect(maps.Values(regs.leaves))...)
	g := newGenerator(t, 50, 10)
	issuers, keys, r := g.issuers, g.keys, g.r
	var certs []*zx509.Certificate
	failing := map[string]bool{}
	for i := range g.n {
		iss := issuers[r.IntN(len(issuers))]
		tmpl := generatedLeaf(t, r, iss, false)
		if i == 0 {
			tmpl.DNSNames = append(tmpl.DNSNames, "bad!label.example.com")
		}
		d, err := iss.draft(rand.Reader, tmpl, keys[r.IntN(len(keys))])
		if err != nil {
			t.Fatal(err)
		}
		c, err := zx509.ParseCertificate(d.lint)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for half := range 2 {
		wg.Go(func() {
			for i := half; i < len(certs); i += 2 {
				for ri, reg := range registries {
					// Names only: some of zlint's details list key usages
					// in map order, and differ from one run to the next.
					gotErrs, gotWarns := lintNames(lintCertificate(certs[i], reg, ""))
					wantErrs, wantWarns := lintNames(splitResults(zlint.LintCertificateEx(certs[i], reg)))
					if !reflect.DeepEqual(gotErrs, wantErrs) || !reflect.DeepEqual(gotWarns, wantWarns) {
						t.Errorf("certificate %d, registry %d: certorder's loop found %v %v, zlint %v %v", i, ri, gotErrs, gotWarns, wantErrs, wantWarns)
					}
					mu.Lock()
					for _, e := range gotErrs {
						failing[e] = true
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d certificates; %d lints failed on some", len(certs), len(failing))
	if !failing["e_dnsname_bad_character_in_label"] {
		t.Error("no certificate failed e_dnsname_bad_character_in_label: the comparison says nothing about the shared instance failing")
	}
}

// lintNames are the names of the lints in "name: details" results.
func lintNames(errs, warns []string) (errNames, warnNames []string) {
	names := func(list []string) []string {
		out := []string{}
		for _, e := range list {
			out = append(out, strings.SplitN(e, ":", 2)[0])
		}
		return out
	}
	return names(errs), names(warns)
}
