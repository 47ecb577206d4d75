package catalog

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The catalogue file lets an operator shape the built-in catalogue
// without rebuilding certorder (certorder serve --catalog FILE). One
// directive per line; blank lines and lines starting with # are ignored:
//
//	disable <name_id>            the product cannot be ordered and is not listed
//	disable *                    every product not named by an enable line
//	enable <name_id>             keep a product that disable * would disable
//	name <name_id> <display name...>
//	price <name_id> <USD per year, e.g. 149 or 149.50>
//	alias <new_id> <name_id>     new_id orders the product name_id
//
// Directives are checked together, not in order: a file whose lines
// contradict each other is refused, whatever their order.

// MaxFileSize bounds a catalogue file; real ones are a few lines.
const MaxFileSize = 1 << 20

// maxFileErrors is how many problems one refusal lists.
const maxFileErrors = 50

// maxDisplayName bounds a product's display name, in characters.
const maxDisplayName = 128

// maxPriceCents is the highest yearly price a file may set (1,000,000 USD).
const maxPriceCents = 100_000_000

// FileError is one problem of a catalogue file: where and why.
type FileError struct {
	File      string
	Line, Col int // 1-based; Col counts characters
	Msg       string
}

func (e *FileError) Error() string {
	if e.Col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// FileErrors are the problems of a refused catalogue file, in line order.
type FileErrors []*FileError

func (es FileErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return "catalogue file refused:\n  " + strings.Join(msgs, "\n  ")
}

// LoadFile reads and checks a catalogue file (Parse).
func LoadFile(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalogue file: %w", err)
	}
	defer f.Close()
	return Parse(path, f)
}

// aliasPattern: a path segment as CertCentral's own ids are written.
var aliasPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

var pricePattern = regexp.MustCompile(`^[0-9]{1,7}(\.[0-9]{1,2})?$`)

// field is one word of a line and the column it starts at.
type field struct {
	s   string
	col int
}

// directive is one parsed line.
type directive struct {
	line   int
	verb   field
	args   []field
	rest   string // name: the display name, everything after the name_id
	restAt int
}

// Parse reads a catalogue file and applies it to the built-in catalogue.
// name labels the errors, which are FileErrors listing every problem with
// its line and column.
func Parse(name string, r io.Reader) (*Catalog, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("catalogue file %s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, FileErrors{{File: name, Line: 1, Msg: fmt.Sprintf("the file is larger than %d bytes", MaxFileSize)}}
	}
	p := &fileParser{name: name, c: newCatalog()}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxFileSize)
	var ds []directive
	for n := 1; sc.Scan(); n++ {
		if d, ok := p.split(n, strings.TrimSuffix(sc.Text(), "\r")); ok {
			ds = append(ds, d)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("catalogue file %s: %w", name, err)
	}
	p.apply(ds)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		if len(p.errs) > maxFileErrors {
			p.errs = p.errs[:maxFileErrors]
		}
		return nil, p.errs
	}
	return p.c, nil
}

type fileParser struct {
	name string
	c    *Catalog
	errs FileErrors
}

func (p *fileParser) fail(line, col int, format string, args ...any) {
	p.errs = append(p.errs, &FileError{File: p.name, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// split cuts a line into its verb and words; ok is false for blank lines,
// comments and lines that are refused already.
func (p *fileParser) split(n int, text string) (directive, bool) {
	if !utf8.ValidString(text) {
		col := 1
		for i := 0; i < len(text); {
			r, size := utf8.DecodeRuneInString(text[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
			col++
		}
		p.fail(n, col, "the line is not valid UTF-8")
		return directive{}, false
	}
	trimmed := strings.TrimLeftFunc(text, unicode.IsSpace)
	if trimmed == "" || strings.HasPrefix(trimmed, "#") {
		return directive{}, false
	}
	d := directive{line: n}
	var fields []field
	col := 1
	start, startCol := -1, 0
	for i, r := range text {
		if r == ' ' || r == '\t' {
			if start >= 0 {
				fields = append(fields, field{text[start:i], startCol})
				start = -1
			}
		} else if start < 0 {
			start, startCol = i, col
		}
		if len(fields) == 2 && start >= 0 && d.rest == "" {
			// The display name of "name" is the rest of the line.
			d.rest, d.restAt = strings.TrimRightFunc(text[start:], unicode.IsSpace), startCol
		}
		col++
	}
	if start >= 0 {
		fields = append(fields, field{text[start:], startCol})
	}
	d.verb, d.args = fields[0], fields[1:]
	return d, true
}

// apply checks every directive and applies those that pass.
func (p *fileParser) apply(ds []directive) {
	c := p.c
	named := map[string]int{}    // name_id → line of its name directive
	priced := map[string]int{}   // name_id → line of its price directive
	disabled := map[string]int{} // name_id → line of its disable directive
	enabled := map[string]int{}  // name_id → line of its enable directive
	aliasLine := map[string]int{}
	disableAll := 0
	var aliases []directive
	want := func(d directive, n int, usage string) bool {
		if len(d.args) < n {
			last := d.verb
			if len(d.args) > 0 {
				last = d.args[len(d.args)-1]
			}
			p.fail(d.line, last.col+utf8.RuneCountInString(last.s), "%s needs %s", d.verb.s, usage)
			return false
		}
		if len(d.args) > n && d.verb.s != "name" {
			p.fail(d.line, d.args[n].col, "unexpected %q: %s takes %s", d.args[n].s, d.verb.s, usage)
			return false
		}
		return true
	}
	product := func(d directive, f field) bool {
		if _, ok := c.products[f.s]; ok {
			return true
		}
		if aliasLine[f.s] != 0 {
			p.fail(d.line, f.col, "%q is an alias, not a product's name_id", f.s)
			return false
		}
		p.fail(d.line, f.col, "no product has the name_id %q", f.s)
		return false
	}
	once := func(d directive, f field, seen map[string]int) bool {
		if prev := seen[f.s]; prev != 0 {
			p.fail(d.line, f.col, "%s %s repeats line %d", d.verb.s, f.s, prev)
			return false
		}
		seen[f.s] = d.line
		return true
	}
	// Aliases first, so that the other directives can tell an alias from
	// an unknown name wherever it is defined.
	for _, d := range ds {
		if d.verb.s == "alias" && len(d.args) >= 1 && aliasLine[d.args[0].s] == 0 {
			aliasLine[d.args[0].s] = d.line
		}
	}
	for _, d := range ds {
		switch d.verb.s {
		case "disable":
			if !want(d, 1, "a product's name_id or *") {
				continue
			}
			if f := d.args[0]; f.s == "*" {
				if disableAll != 0 {
					p.fail(d.line, f.col, "disable * repeats line %d", disableAll)
					continue
				}
				disableAll = d.line
			} else if product(d, f) && once(d, f, disabled) {
				if at := enabled[f.s]; at != 0 {
					p.fail(d.line, f.col, "%s is enabled on line %d", f.s, at)
				}
			}
		case "enable":
			if !want(d, 1, "a product's name_id") {
				continue
			}
			if f := d.args[0]; product(d, f) && once(d, f, enabled) {
				if at := disabled[f.s]; at != 0 {
					p.fail(d.line, f.col, "%s is disabled on line %d", f.s, at)
				}
			}
		case "name":
			if !want(d, 2, "a product's name_id and its display name") {
				continue
			}
			f := d.args[0]
			if !product(d, f) || !once(d, f, named) {
				continue
			}
			if msg := checkDisplayName(d.rest); msg != "" {
				p.fail(d.line, d.restAt, "%s", msg)
				continue
			}
			pr := c.products[f.s]
			pr.Name = d.rest
			c.products[f.s] = pr
		case "price":
			if !want(d, 2, "a product's name_id and a yearly price in USD") {
				continue
			}
			f, v := d.args[0], d.args[1]
			if !product(d, f) || !once(d, f, priced) {
				continue
			}
			cents, ok := parsePrice(v.s)
			if !ok {
				p.fail(d.line, v.col, "price %q is not an amount of USD such as 149 or 149.50, at most 1000000", v.s)
				continue
			}
			pr := c.products[f.s]
			pr.PriceCents = cents
			c.products[f.s] = pr
		case "alias":
			if want(d, 2, "the alias and the name_id of the product it orders") {
				aliases = append(aliases, d)
			}
		default:
			p.fail(d.line, d.verb.col, "unknown directive %q (want disable, enable, name, price or alias)", d.verb.s)
		}
	}
	if disableAll != 0 {
		for id := range c.products {
			if enabled[id] == 0 {
				c.disabled[id] = true
			}
		}
	} else {
		for id, line := range enabled {
			p.fail(line, 0, "enable %s: without disable * every product is enabled already", id)
		}
	}
	for id := range disabled {
		c.disabled[id] = true
	}
	for _, d := range aliases {
		a, f := d.args[0], d.args[1]
		switch {
		case !aliasPattern.MatchString(a.s):
			p.fail(d.line, a.col, "alias %q must be 1 to 64 lower-case letters, digits, _ or -, starting with a letter", a.s)
		case c.products[a.s].NameID != "":
			p.fail(d.line, a.col, "alias %q is a product's name_id already", a.s)
		case aliasLine[a.s] != d.line:
			p.fail(d.line, a.col, "alias %s repeats line %d", a.s, aliasLine[a.s])
		case aliasLine[f.s] != 0:
			p.fail(d.line, f.col, "%q is an alias; an alias names a product's name_id", f.s)
		case c.products[f.s].NameID == "":
			p.fail(d.line, f.col, "no product has the name_id %q", f.s)
		case c.disabled[f.s]:
			p.fail(d.line, f.col, "%s is disabled, so alias %s could order nothing", f.s, a.s)
		default:
			c.aliases[a.s] = f.s
		}
	}
}

// checkDisplayName returns why a display name is refused, or "".
func checkDisplayName(s string) string {
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "the display name is empty"
	case n > maxDisplayName:
		return fmt.Sprintf("the display name has %d characters, more than %d", n, maxDisplayName)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("the display name holds the control character %U", r)
		}
	}
	return ""
}

// parsePrice reads "149" or "149.5" or "149.50" as cents.
func parsePrice(s string) (int64, bool) {
	if !pricePattern.MatchString(s) {
		return 0, false
	}
	whole, frac, _ := strings.Cut(s, ".")
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	cents := w*100 + f
	return cents, cents <= maxPriceCents
}
