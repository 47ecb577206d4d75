package api

// CSV output of the lists (spec §1.1): GET /order/certificate and
// GET /request answer text/csv when the client's Accept header asks for
// it. The page is the same as in JSON (offset, limit, sort, filters); the
// columns are documented in docs/decisions.md ("Order operations").

import (
	"bytes"
	"encoding/csv"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// wantsCSV: the Accept header names text/csv (with any parameters).
func wantsCSV(r *http.Request) bool {
	for _, h := range r.Header.Values("Accept") {
		for _, part := range strings.Split(h, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || mt != "text/csv" {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
					continue
				}
			}
			return true
		}
	}
	return false
}

// OrderCSVColumns are the columns of the orders CSV, in order.
var OrderCSVColumns = []string{"id", "status", "date_created", "common_name", "dns_names", "product_name_id", "product_name",
	"organization_id", "organization_name", "container_id", "container_name", "certificate_id", "serial_number",
	"valid_from", "valid_till", "days_remaining", "order_valid_till", "validity_years", "is_renewed", "alternative_order_id", "price"}

// RequestCSVColumns are the columns of the requests CSV, in order.
var RequestCSVColumns = []string{"id", "date", "type", "status", "date_processed", "requester_id", "requester_email",
	"processor_id", "processor_email", "order_id", "common_name", "product_name_id", "product_name", "organization_id",
	"organization_name", "container_id", "container_name", "comments", "processor_comment"}

func i64(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// csvNumbers are the columns whose cells certorder writes as numbers
// (strconv, never text from a client). Every other cell may carry a
// client's text (names, comments, alternative order ids, emails) and is
// neutralised (csvCell); these are left alone so that a negative
// days_remaining stays a number. Dates and statuses begin with a digit or
// a letter, and so pass unchanged.
var csvNumbers = map[string]bool{"id": true, "organization_id": true, "container_id": true, "certificate_id": true,
	"days_remaining": true, "validity_years": true, "price": true, "requester_id": true, "processor_id": true, "order_id": true}

// csvCell keeps a spreadsheet from reading a cell as a formula (CSV
// injection, after OWASP's guidance): a cell that begins with =, +, -, @,
// a tab or a carriage return gets a leading single quote, which
// spreadsheets show as text and do not evaluate. Programs that read the
// CSV as data see the quote.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func writeCSV(w http.ResponseWriter, header []string, rows [][]string) error {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, row := range rows {
		for i := range row {
			if !csvNumbers[header[i]] {
				row[i] = csvCell(row[i])
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	w.Header()["Content-Type"] = []string{"text/csv"}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf.Bytes())
	return err
}

func writeOrdersCSV(w http.ResponseWriter, items []orderListItem) error {
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		orgID, orgName := "", ""
		if it.Organization != nil {
			orgID, orgName = i64(it.Organization.ID), it.Organization.Name
		}
		days := ""
		if it.Certificate.DaysRemaining != nil {
			days = strconv.Itoa(*it.Certificate.DaysRemaining)
		}
		years := ""
		if it.ValidityYears > 0 {
			years = strconv.Itoa(it.ValidityYears)
		}
		rows = append(rows, []string{i64(it.ID), it.Status, it.DateCreated, it.Certificate.CommonName,
			strings.Join(it.Certificate.DNSNames, " "), it.ProductNameID, it.Product.Name,
			orgID, orgName, i64(it.Container.ID), it.Container.Name, i64(it.Certificate.ID), it.Certificate.SerialNumber,
			it.Certificate.ValidFrom, it.Certificate.ValidTill, days, it.OrderValidTill, years,
			strconv.FormatBool(it.IsRenewed), it.AlternativeOrderID, strconv.FormatFloat(it.Price, 'f', 2, 64)})
	}
	return writeCSV(w, OrderCSVColumns, rows)
}

func writeRequestsCSV(w http.ResponseWriter, reqs []*requestView) error {
	rows := make([][]string, 0, len(reqs))
	for _, v := range reqs {
		reqID, reqEmail, procID, procEmail := "", "", "", ""
		if v.Requester != nil {
			reqID, reqEmail = i64(v.Requester.ID), v.Requester.Email
		}
		if v.Processor != nil {
			procID, procEmail = i64(v.Processor.ID), v.Processor.Email
		}
		orgID, orgName := "", ""
		if v.Order.Organization != nil {
			orgID, orgName = i64(v.Order.Organization.ID), v.Order.Organization.Name
		}
		rows = append(rows, []string{i64(v.ID), v.Date, v.Type, v.Status, v.DateProcessed, reqID, reqEmail, procID, procEmail,
			i64(v.Order.ID), v.Order.Certificate.CommonName, v.Order.Product.NameID, v.Order.Product.Name, orgID, orgName,
			i64(v.Order.Container.ID), v.Order.Container.Name, v.Comments, v.ProcessorComment})
	}
	return writeCSV(w, RequestCSVColumns, rows)
}
