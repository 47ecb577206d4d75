// Package lintinputs reads zlint's source and finds the certificate lints
// whose outcome is a function of a certificate's fixed parts alone: the
// parts that a profile and its issuing CA decide, the same for every
// order of the profile, as opposed to the serial, validity, subject, key
// and names that differ per order. Package ca runs such a lint once per
// distinct fixed part and reuses its outcome (ca's lint memo); the list it
// uses is generated from this package (go generate ./internal/ca) and a
// test recomputes it, so a zlint upgrade that makes a lint read anything
// else takes it out of the list.
//
// The analysis is conservative. A lint is fixed when, in its CheckApplies
// and Execute and, transitively, in every function of zlint's source the
// certificate is handed to, the certificate is used only as
//   - c.F, with F one of FixedFields, or
//   - util.GetExtFromCert(c, X) or util.IsExtInCert(c, X), with X a
//     package-level OID of a literal value that is not one of
//     VariableExtensions, or
//   - an argument to another function of zlint's source that, by the same
//     rules, uses it only so;
//
// and nothing it calls, in zlint's source or out of it, reads the clock,
// a random source or the environment. Any other use (a method of the
// certificate, an alias, a closure, a field not listed, a call through an
// interface or a function value with the certificate) makes the lint
// variable, and ca runs it on every certificate.
package lintinputs

import (
	"encoding/asn1"
	"fmt"
	"go/ast"
	"go/format"
	"go/token"
	"go/types"
	"reflect"
	"sort"
	"strconv"
	"strings"

	_ "github.com/zmap/zlint/v3" // registers every lint
	"github.com/zmap/zlint/v3/lint"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/types/typeutil"
)

const (
	certPkg  = "github.com/zmap/zcrypto/x509"
	utilPkg  = "github.com/zmap/zlint/v3/util"
	zlintMod = "github.com/zmap/zlint/v3"
)

// FixedFields are the fields of zcrypto's x509.Certificate that its
// parser computes from the fixed parts alone (Key in package ca): the
// version, the TBSCertificate's signature algorithm, the signature, the
// issuer, the SubjectPublicKeyInfo's algorithm, and the extensions other
// than VariableExtensions (each field from its own extension, read in
// zcrypto's parseCertificate). Left out though derived from extensions:
// ValidationLevel (it reads the subject when the policies name no level),
// FailedToParseNames and UnhandledCriticalExtensions (the subject
// alternative name writes them too).
var FixedFields = map[string]bool{
	"SelfSigned": true, // keyed by its value, not by a part
	"Version":    true, "Signature": true, "SignatureAlgorithm": true, "SignatureAlgorithmOID": true,
	"Issuer": true, "RawIssuer": true, "PublicKeyAlgorithm": true, "PublicKeyAlgorithmOID": true,
	// key usage, basic constraints
	"KeyUsage": true, "BasicConstraintsValid": true, "IsCA": true, "MaxPathLen": true, "MaxPathLenZero": true,
	// issuer alternative name
	"IANOtherNames": true, "IANDNSNames": true, "IANEmailAddresses": true, "IANURIs": true,
	"IANDirectoryNames": true, "IANEDIPartyNames": true, "IANIPAddresses": true, "IANRegisteredIDs": true,
	// name constraints
	"NameConstraintsCritical": true,
	"PermittedDNSNames":       true, "ExcludedDNSNames": true, "PermittedEmailAddresses": true, "ExcludedEmailAddresses": true,
	"PermittedURIs": true, "ExcludedURIs": true, "PermittedIPAddresses": true, "ExcludedIPAddresses": true,
	"PermittedDirectoryNames": true, "ExcludedDirectoryNames": true, "PermittedEdiPartyNames": true, "ExcludedEdiPartyNames": true,
	"PermittedRegisteredIDs": true, "ExcludedRegisteredIDs": true, "PermittedX400Addresses": true, "ExcludedX400Addresses": true,
	// CRL distribution points, authority key identifier, extended key usage
	"CRLDistributionPoints": true, "AuthorityKeyId": true, "ExtKeyUsage": true, "UnknownExtKeyUsage": true,
	// certificate policies
	"PolicyIdentifiers": true, "QualifierId": true, "CPSuri": true, "ExplicitTexts": true,
	"NoticeRefOrgnization": true, "NoticeRefNumbers": true, "ParsedExplicitTexts": true,
	"ParsedNoticeRefOrganization": true, "UserNotices": true,
	// authority information access, CT poison, Tor descriptors, CA/B Forum
	// organization identifier, QC statements
	"OCSPServer": true, "IssuingCertificateURL": true, "IsPrecert": true, "TorServiceDescriptors": true,
	"CABFOrganizationIdentifier": true, "QCStatements": true,
}

// VariableExtensions are the extensions whose values differ per order:
// the subject alternative name, the subject key identifier and the SCT
// list. Package ca's key holds their identifiers and criticality, not
// their values.
var VariableExtensions = []string{"2.5.29.17", "2.5.29.14", "1.3.6.1.4.1.11129.2.4.2"}

// impure are functions outside zlint's source whose result is not a
// function of their arguments; a package listed with "*" is impure
// whole.
var impure = map[string]bool{
	"time.Now": true, "time.Since": true, "time.Until": true, "time.Tick": true, "time.After": true,
	"time.NewTimer": true, "time.NewTicker": true,
	"math/rand.*": true, "math/rand/v2.*": true, "crypto/rand.*": true, "os.*": true, "syscall.*": true,
	"runtime.*": true, "io/ioutil.*": true, "io/fs.*": true, "os/exec.*": true, "net/http.*": true,
	"net.Dial": true, "net.DialTimeout": true, "net.Listen": true, "net.LookupHost": true, "net.LookupIP": true,
	"net.LookupAddr": true, "net.LookupCNAME": true, "net.LookupMX": true, "net.LookupTXT": true,
	"net.Interfaces": true, "net.InterfaceAddrs": true,
}

// Verdict is the analysis of one lint.
type Verdict struct {
	Fixed  bool
	Reason string // why it is variable; empty when Fixed
}

// Analyze loads zlint's lints and util from source and returns the
// verdict on every certificate lint of zlint's global registry, by name.
func Analyze() (map[string]Verdict, error) {
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
		packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports}
	pkgs, err := packages.Load(cfg, zlintMod+"/lints/...", utilPkg, certPkg)
	if err != nil {
		return nil, fmt.Errorf("lintinputs: loading zlint: %w", err)
	}
	a := &analysis{decls: map[string]funcDecl{}, methods: map[string][]string{}, oids: map[string]string{}, uses: map[useKey]*judgement{}, pure: map[string]*judgement{}}
	for _, p := range pkgs {
		if len(p.Errors) > 0 {
			return nil, fmt.Errorf("lintinputs: %s: %v", p.PkgPath, p.Errors[0])
		}
		a.index(p)
	}
	out := map[string]Verdict{}
	for _, l := range lint.GlobalRegistry().CertificateLints().Lints() {
		t := reflect.TypeOf(l.Lint())
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		out[l.Name] = a.lint(t.PkgPath(), t.Name())
	}
	return out, nil
}

type funcDecl struct {
	decl *ast.FuncDecl
	info *types.Info
}

type useKey struct {
	fn    string
	param int
}

type analysis struct {
	decls map[string]funcDecl // by funcKey
	// methods are the funcKeys of zlint's methods, by method name
	methods map[string][]string
	oids    map[string]string     // package-level OID literals of zlint's source, by "pkg.Name"
	uses    map[useKey]*judgement // does a function use its certificate parameter only in fixed ways
	pure    map[string]*judgement // does a function call nothing impure
}

// funcKey names a function or method across the packages the loader made
// (a package loaded from source and the same package seen through another
// one's imports are different *types.Package values).
func funcKey(f *types.Func) string {
	sig, _ := f.Type().(*types.Signature)
	if sig != nil && sig.Recv() != nil {
		rt := sig.Recv().Type()
		if p, ok := rt.(*types.Pointer); ok {
			rt = p.Elem()
		}
		if n, ok := rt.(*types.Named); ok {
			if n.Obj().Pkg() == nil {
				return n.Obj().Name() + "." + f.Name() // error.Error
			}
			return n.Obj().Pkg().Path() + "." + n.Obj().Name() + "." + f.Name()
		}
		return "?"
	}
	if f.Pkg() == nil {
		return f.Name()
	}
	return f.Pkg().Path() + "." + f.Name()
}

func (a *analysis) index(p *packages.Package) {
	for _, f := range p.Syntax {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if obj, ok := p.TypesInfo.Defs[d.Name].(*types.Func); ok && d.Body != nil {
					k := funcKey(obj)
					a.decls[k] = funcDecl{d, p.TypesInfo}
					if d.Recv != nil {
						a.methods[d.Name.Name] = append(a.methods[d.Name.Name], k)
					}
				}
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, s := range d.Specs {
					vs := s.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if oid, ok := oidLiteral(vs.Values[i]); ok {
								a.oids[p.PkgPath+"."+n.Name] = oid
							}
						}
					}
				}
			}
		}
	}
}

// oidLiteral is the dotted value of asn1.ObjectIdentifier{1, 2, ...}
// written with integer literals.
func oidLiteral(e ast.Expr) (string, bool) {
	cl, ok := e.(*ast.CompositeLit)
	if !ok || len(cl.Elts) == 0 {
		return "", false
	}
	if sel, ok := cl.Type.(*ast.SelectorExpr); !ok || sel.Sel.Name != "ObjectIdentifier" {
		return "", false
	}
	parts := make([]string, len(cl.Elts))
	for i, el := range cl.Elts {
		bl, ok := el.(*ast.BasicLit)
		if !ok || bl.Kind != token.INT {
			return "", false
		}
		n, err := strconv.ParseInt(bl.Value, 0, 64) // Go's syntax: 021 is 17
		if err != nil || n < 0 {
			return "", false
		}
		parts[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(parts, "."), true
}

func (a *analysis) lint(pkgPath, typeName string) Verdict {
	for _, m := range []string{"CheckApplies", "Execute"} {
		key := pkgPath + "." + typeName + "." + m
		fd, ok := a.decls[key]
		if !ok {
			return Verdict{Reason: "no source for " + key}
		}
		if r := a.usesOnlyFixed(key, 0); r != "" {
			return Verdict{Reason: m + ": " + r}
		}
		if r := a.pureFunc(key, fd); r != "" {
			return Verdict{Reason: m + ": " + r}
		}
	}
	return Verdict{Fixed: true}
}

// usesOnlyFixed returns "" when the function fn uses its parameter i
// (a *x509.Certificate) only in fixed ways, else why not.
func (a *analysis) usesOnlyFixed(fn string, i int) string {
	return judge(a.uses, useKey{fn, i}, fn, func() string { return a.checkUses(fn, i) })
}

// judgement is a memoized answer ("" or why not) to a question that may
// recurse: asked again while it is being answered, it is answered
// "recursion", which is conservative.
type judgement struct {
	done   bool
	reason string
}

func judge[K comparable](memo map[K]*judgement, k K, name string, answer func() string) string {
	if j, ok := memo[k]; ok {
		if !j.done {
			return "recursion through " + name
		}
		return j.reason
	}
	j := &judgement{}
	memo[k] = j
	j.reason, j.done = answer(), true
	return j.reason
}

func (a *analysis) checkUses(fn string, i int) string {
	fd, ok := a.decls[fn]
	if !ok {
		return "certificate handed to " + fn + ", whose source is not read"
	}
	sig := fd.info.Defs[fd.decl.Name].(*types.Func).Signature()
	if sig.Variadic() && i >= sig.Params().Len()-1 {
		return "certificate in a variadic argument of " + fn
	}
	param := sig.Params().At(i) // an unnamed one is never used
	if !isCertPointer(param.Type()) {
		return fmt.Sprintf("parameter %d of %s is %s, not *x509.Certificate", i, fn, param.Type())
	}
	parents := parentMap(fd.decl.Body)
	var reason string
	ast.Inspect(fd.decl.Body, func(n ast.Node) bool {
		if reason != "" {
			return false
		}
		id, ok := n.(*ast.Ident)
		if !ok || fd.info.Uses[id] != param {
			return true
		}
		reason = a.checkUse(fn, fd.info, id, parents)
		return true
	})
	return reason
}

// checkUse judges one occurrence of the certificate parameter.
func (a *analysis) checkUse(fn string, info *types.Info, id *ast.Ident, parents map[ast.Node]ast.Node) string {
	var node ast.Node = id
	parent := parents[node]
	for {
		p, ok := parent.(*ast.ParenExpr)
		if !ok {
			break
		}
		node, parent = p, parents[p]
	}
	switch p := parent.(type) {
	case *ast.SelectorExpr:
		sel := info.Selections[p]
		if sel == nil || sel.Kind() != types.FieldVal {
			return fn + ": calls c." + p.Sel.Name
		}
		if !FixedFields[p.Sel.Name] || len(sel.Index()) != 1 {
			return fn + ": reads c." + p.Sel.Name
		}
		if mayWrite(p, parents) {
			return fn + ": may write c." + p.Sel.Name
		}
		return ""
	case *ast.CallExpr:
		arg := -1
		for j, e := range p.Args {
			if e == node {
				arg = j
			}
		}
		if arg < 0 {
			return fn + ": calls the certificate"
		}
		if p.Ellipsis.IsValid() {
			return fn + ": hands the certificate on with ..."
		}
		if sel, ok := p.Fun.(*ast.SelectorExpr); ok {
			if s := info.Selections[sel]; s != nil && s.Kind() == types.MethodExpr {
				return fn + ": hands the certificate to a method expression"
			}
		}
		callee := typeutil.StaticCallee(info, p)
		if callee == nil {
			return fn + ": hands the certificate to a call through an interface or a function value"
		}
		key := funcKey(callee)
		if key == utilPkg+".IsExtInCert" {
			// whether an extension is there: the key holds every
			// extension's identifier
			return ""
		}
		if key == utilPkg+".GetExtFromCert" {
			if arg != 0 || len(p.Args) != 2 {
				return fn + ": unexpected " + key + " call"
			}
			oid, ok := a.oidOf(info, p.Args[1])
			if !ok {
				return fn + ": " + callee.Name() + " with an extension not named by a literal OID"
			}
			for _, v := range VariableExtensions {
				if oid == v {
					return fn + ": " + callee.Name() + " of extension " + oid
				}
			}
			return ""
		}
		if r := a.usesOnlyFixed(key, arg); r != "" {
			return r
		}
		return ""
	}
	return fmt.Sprintf("%s: uses the certificate as %T", fn, parent)
}

// mayWrite: the field read sel (c.F), or an element or field reached
// from it, is assigned, incremented, has its address taken, or is handed
// to a function that writes into what it is given (sorting, append,
// copy). A fixed lint that wrote to the certificate would change what the
// lints after it read, which its replay would not.
func mayWrite(sel ast.Expr, parents map[ast.Node]ast.Node) bool {
	var e ast.Node = sel
	for {
		switch p := parents[e].(type) {
		case *ast.IndexExpr, *ast.SelectorExpr, *ast.StarExpr, *ast.ParenExpr, *ast.SliceExpr:
			e = p
			continue
		case *ast.AssignStmt:
			for _, lhs := range p.Lhs {
				if lhs == e {
					return true
				}
			}
		case *ast.IncDecStmt:
			return true
		case *ast.UnaryExpr:
			return p.Op == token.AND
		case *ast.CallExpr:
			if fun := types.ExprString(p.Fun); len(p.Args) > 0 && p.Args[0] == e &&
				(fun == "append" || fun == "copy" || strings.HasPrefix(fun, "sort.") || strings.HasPrefix(fun, "slices.Sort") ||
					strings.HasPrefix(fun, "slices.Reverse") || strings.HasPrefix(fun, "slices.Delete") || strings.HasPrefix(fun, "slices.Insert")) {
				return true
			}
		}
		return false
	}
}

// oidOf resolves an expression naming a package-level OID variable of
// zlint's source written as a literal.
func (a *analysis) oidOf(info *types.Info, e ast.Expr) (string, bool) {
	var id *ast.Ident
	switch e := e.(type) {
	case *ast.Ident:
		id = e
	case *ast.SelectorExpr:
		id = e.Sel
	default:
		return "", false
	}
	v, ok := info.Uses[id].(*types.Var)
	if !ok || v.Pkg() == nil || v.Parent() != v.Pkg().Scope() {
		return "", false
	}
	oid, ok := a.oids[v.Pkg().Path()+"."+v.Name()]
	return oid, ok
}

func isCertPointer(t types.Type) bool {
	p, ok := t.(*types.Pointer)
	if !ok {
		return false
	}
	n, ok := p.Elem().(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == certPkg && n.Obj().Name() == "Certificate"
}

func parentMap(root ast.Node) map[ast.Node]ast.Node {
	m := map[ast.Node]ast.Node{}
	var stack []ast.Node
	ast.Inspect(root, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		if len(stack) > 0 {
			m[n] = stack[len(stack)-1]
		}
		stack = append(stack, n)
		return true
	})
	return m
}

// pureFunc returns "" when nothing fn calls, in zlint's source or out of
// it, is impure, and no call goes through an interface or a function value
// (whose target the analysis cannot know), else why not. Method calls
// through interfaces on values of the standard library's error and
// fmt.Stringer kinds are the exception: zlint's source calls Error and
// String on values it made itself.
func (a *analysis) pureFunc(key string, fd funcDecl) string {
	return judge(a.pure, key, key, func() string { return a.checkPure(key, fd) })
}

func (a *analysis) checkPure(key string, fd funcDecl) string {
	closures := localClosures(fd)
	called := map[ast.Expr]bool{} // the Fun of every call
	ast.Inspect(fd.decl.Body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			called[call.Fun] = true
		}
		return true
	})
	var reason string
	ast.Inspect(fd.decl.Body, func(n ast.Node) bool {
		if reason != "" {
			return false
		}
		switch n := n.(type) {
		case *ast.RangeStmt:
			// Go's map order differs from one range to the next: a lint
			// whose outcome follows it (zlint has one) is not a function
			// of the certificate.
			if t, ok := fd.info.Types[n.X]; ok {
				if _, isMap := t.Type.Underlying().(*types.Map); isMap {
					reason = key + ": ranges over a map"
				}
			}
		case *ast.Ident:
			// every function named, called or handed on as a value
			f, ok := fd.info.Uses[n].(*types.Func)
			if !ok {
				return true
			}
			reason = a.pureCallee(key, f)
		case *ast.SelectorExpr:
			if s := fd.info.Selections[n]; s != nil && s.Kind() == types.MethodVal && types.IsInterface(s.Recv()) && !called[n] {
				reason = key + ": takes the interface method " + n.Sel.Name + " as a value"
			}
		case *ast.CallExpr:
			if tv, ok := fd.info.Types[n.Fun]; ok && (tv.IsType() || tv.IsBuiltin()) {
				return true
			}
			if typeutil.StaticCallee(fd.info, n) != nil {
				return true // judged as an identifier
			}
			if id, ok := n.Fun.(*ast.Ident); ok && closures[fd.info.Uses[id]] {
				return true // its body is part of this one, inspected here
			}
			m, local := interfaceMethod(fd.info, n)
			switch {
			case m == "Error" || m == "String":
			case local:
				// an interface of zlint's source: every method of that
				// name in zlint's source must be pure
				for _, mk := range a.methods[m] {
					if r := a.pureFunc(mk, a.decls[mk]); r != "" {
						reason = r
						break
					}
				}
			default:
				reason = fmt.Sprintf("%s: calls through an interface or a function value at %s", key, types.ExprString(n.Fun))
			}
		}
		return reason == ""
	})
	return reason
}

// pureCallee judges a function fn names: impure if listed, else by its
// source when zlint's.
func (a *analysis) pureCallee(fn string, f *types.Func) string {
	ck := funcKey(f)
	if f.Pkg() != nil && (impure[ck] || impure[f.Pkg().Path()+".*"]) {
		return fn + ": calls " + ck
	}
	if cd, ok := a.decls[ck]; ok {
		return a.pureFunc(ck, cd)
	}
	return ""
}

// localClosures are the local variables of fd assigned once, where they
// are declared, a function literal of fd's body.
func localClosures(fd funcDecl) map[types.Object]bool {
	assigned := map[types.Object]int{}
	lit := map[types.Object]bool{}
	ast.Inspect(fd.decl.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				id, ok := lhs.(*ast.Ident)
				if !ok {
					continue
				}
				obj := fd.info.Defs[id]
				if obj == nil {
					obj = fd.info.Uses[id]
				}
				if obj == nil {
					continue
				}
				assigned[obj]++
				if _, ok := n.Rhs[min(i, len(n.Rhs)-1)].(*ast.FuncLit); ok && n.Tok == token.DEFINE && len(n.Lhs) == len(n.Rhs) {
					lit[obj] = true
				}
			}
		case *ast.UnaryExpr:
			if id, ok := n.X.(*ast.Ident); ok && n.Op == token.AND {
				assigned[fd.info.Uses[id]] += 2 // its address escapes
			}
		}
		return true
	})
	out := map[types.Object]bool{}
	for obj := range lit {
		if assigned[obj] == 1 {
			out[obj] = true
		}
	}
	return out
}

// interfaceMethod is the name of the interface method call calls, and
// whether the interface is a named type of zlint's module.
func interfaceMethod(info *types.Info, call *ast.CallExpr) (name string, local bool) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	s := info.Selections[sel]
	if s == nil || s.Kind() != types.MethodVal || !types.IsInterface(s.Recv()) {
		return "", false
	}
	n, ok := s.Recv().(*types.Named)
	local = ok && n.Obj().Pkg() != nil && strings.HasPrefix(n.Obj().Pkg().Path(), zlintMod+"/")
	return sel.Sel.Name, local
}

// Fixed is the sorted names of the fixed lints of a verdict map.
func Fixed(v map[string]Verdict) []string {
	var out []string
	for n, x := range v {
		if x.Fixed {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Source is the Go file of package ca that lists names as fixedLints,
// and VariableExtensions as DER elements, the form its key reads them in.
func Source(names []string) []byte {
	var b strings.Builder
	b.WriteString("// Code generated by go run ./lintinputs/genfixed from zlint's source; DO NOT EDIT.\n\npackage ca\n\n")
	b.WriteString("// fixedLints are the certificate lints whose outcome is a function of a\n")
	b.WriteString("// certificate's fixed parts alone (package lintinputs, lintmemo.go).\n")
	b.WriteString("var fixedLints = map[string]bool{\n")
	for _, n := range names {
		b.WriteString("\t" + strconv.Quote(n) + ": true,\n")
	}
	b.WriteString("}\n\n")
	b.WriteString("// variableExtensions are the identifiers, as DER elements, of the\n")
	b.WriteString("// extensions whose values the key leaves out (lintinputs.VariableExtensions).\n")
	b.WriteString("var variableExtensions = [][]byte{\n")
	for _, dotted := range VariableExtensions {
		b.WriteString("\t{" + derBytes(dotted) + "}, // " + dotted + "\n")
	}
	b.WriteString("}\n")
	out, err := format.Source([]byte(b.String()))
	if err != nil {
		panic(err) // the text above is Go
	}
	return out
}

// derBytes is the DER encoding of a dotted OID as Go byte literals.
func derBytes(dotted string) string {
	var oid asn1.ObjectIdentifier
	for _, arc := range strings.Split(dotted, ".") {
		n, err := strconv.Atoi(arc)
		if err != nil {
			panic("lintinputs: bad OID " + dotted)
		}
		oid = append(oid, n)
	}
	der, err := asn1.Marshal(oid)
	if err != nil {
		panic(err)
	}
	parts := make([]string, len(der))
	for i, c := range der {
		parts[i] = fmt.Sprintf("0x%02x", c)
	}
	return strings.Join(parts, ", ")
}
