package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// The emailed-link pages speak the language their link's mail was written
// in: i18n/<locale>.json holds each page string by key, for the locales
// every mail kind is written in. A string is trusted markup (ours, so it
// may hold <b>), with the values it shows as {1}, {2}, … in the order the
// page passes them, so that a translation may place them as its grammar
// needs; every value is escaped where it is put. A locale without a
// catalogue, or a key a catalogue lacks, takes the English string.

// PageFallbackLocale is the language of a page whose link has none, or one
// without a catalogue.
const PageFallbackLocale = "en"

// catalogue is locale → key → string, read once from the embedded files.
var catalogue = func() map[string]map[string]string {
	names, err := files.ReadDir("i18n")
	if err != nil {
		panic(err)
	}
	out := map[string]map[string]string{}
	for _, n := range names {
		b, err := files.ReadFile(path.Join("i18n", n.Name()))
		if err != nil {
			panic(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("page strings %s: %v", n.Name(), err))
		}
		out[strings.TrimSuffix(n.Name(), ".json")] = m
	}
	if out[PageFallbackLocale] == nil {
		panic("page strings: no " + PageFallbackLocale + ".json")
	}
	return out
}()

// PageLocale is the catalogue locale that serves locale: itself when it
// has one, else English.
func PageLocale(locale string) string {
	if catalogue[locale] != nil {
		return locale
	}
	return PageFallbackLocale
}

var placeholder = regexp.MustCompile(`\{([1-9])\}`)

// Translate is the string key in locale (English when locale lacks it)
// with its placeholders replaced by args, each escaped. A key English
// lacks is an error: the page that names it fails to render (a 500, and a
// test that renders every page).
func Translate(locale, key string, args ...any) (template.HTML, error) {
	s, ok := catalogue[PageLocale(locale)][key]
	if !ok {
		if s, ok = catalogue[PageFallbackLocale][key]; !ok {
			return "", fmt.Errorf("no page string %q", key)
		}
	}
	var bad error
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		i, _ := strconv.Atoi(m[1 : len(m)-1])
		if i > len(args) {
			bad = fmt.Errorf("page string %q names {%d} but is given %d values", key, i, len(args))
			return ""
		}
		return template.HTMLEscapeString(fmt.Sprint(args[i-1]))
	})
	if bad != nil {
		return "", bad
	}
	return template.HTML(out), nil
}

// langTag is a locale as an HTML lang attribute (zh_CN → zh-CN).
func langTag(locale string) string { return strings.ReplaceAll(PageLocale(locale), "_", "-") }
