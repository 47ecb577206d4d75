package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Reads that carry held-back writes. database/sql cannot send a query
// together with other statements, so a read after held-back writes would
// cost two round trips: one for the writes, one for the read. A batch
// instead sends the read with the writes through pgx, and hands the rows
// it got to database/sql through answered, a driver that answers every
// query with rows it is given: the caller scans them with database/sql's
// own conversions, exactly as rows from the network. Only statements that
// begin with SELECT are carried (a read can be sent again, unlike an
// INSERT ... RETURNING), and only when every value is of a kind the pgx
// driver gives database/sql the same way (integers, floats, text, bytea,
// booleans, NULL); otherwise the read is sent again the usual way.

// answeredRows is the argument of a query on the answered database: the
// rows to answer, or the error.
type answeredRows struct {
	cols []string
	rows [][]driver.Value
	err  error
}

// answered is the database/sql database whose queries answer what their
// argument holds.
var answered = sql.OpenDB(answeredConnector{})

type answeredConnector struct{}

func (answeredConnector) Connect(context.Context) (driver.Conn, error) { return answeredConn{}, nil }
func (answeredConnector) Driver() driver.Driver                        { return answeredDriver{} }

type answeredDriver struct{}

func (answeredDriver) Open(string) (driver.Conn, error) { return answeredConn{}, nil }

type answeredConn struct{}

func (answeredConn) Prepare(string) (driver.Stmt, error) {
	return nil, errors.New("postgres: the answered driver prepares nothing")
}
func (answeredConn) Close() error { return nil }
func (answeredConn) Begin() (driver.Tx, error) {
	return nil, errors.New("postgres: the answered driver has no transactions")
}

// CheckNamedValue lets the *answeredRows argument through as it is.
func (answeredConn) CheckNamedValue(*driver.NamedValue) error { return nil }

func (answeredConn) QueryContext(_ context.Context, _ string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) != 1 {
		return nil, errors.New("postgres: the answered driver wants one argument")
	}
	a, ok := args[0].Value.(*answeredRows)
	if !ok {
		return nil, fmt.Errorf("postgres: the answered driver got %T", args[0].Value)
	}
	if a.err != nil {
		return nil, a.err
	}
	return &answeredIter{a: a}, nil
}

type answeredIter struct {
	a *answeredRows
	i int
}

func (r *answeredIter) Columns() []string { return r.a.cols }
func (r *answeredIter) Close() error      { return nil }
func (r *answeredIter) Next(dest []driver.Value) error {
	if r.i >= len(r.a.rows) {
		return io.EOF
	}
	copy(dest, r.a.rows[r.i])
	r.i++
	return nil
}

// answerRow and answerRows turn what a carried read got into database/sql's
// types.
func answerRow(a *answeredRows) *sql.Row {
	return answered.QueryRowContext(bg, "", a)
}

func answerRows(a *answeredRows) (*sql.Rows, error) {
	return answered.QueryContext(bg, "", a)
}

// carriable reports whether query may be carried: a plain SELECT.
func carriable(query string) bool {
	q := strings.TrimSpace(query)
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

// readAll collects rows as database/sql driver values; ok is false when a
// value is of a kind it does not pass on the way the pgx driver does.
func readAll(rows pgx.Rows) (a *answeredRows, ok bool, err error) {
	a = &answeredRows{}
	for _, fd := range rows.FieldDescriptions() {
		a.cols = append(a.cols, fd.Name)
	}
	ok = true
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, false, err
		}
		row := make([]driver.Value, len(vals))
		for i, v := range vals {
			switch v := v.(type) {
			case nil, int64, float64, bool, string:
				row[i] = v
			case int32:
				row[i] = int64(v)
			case int16:
				row[i] = int64(v)
			case float32:
				row[i] = float64(v)
			case []byte:
				row[i] = append([]byte(nil), v...)
			default:
				ok = false
			}
		}
		a.rows = append(a.rows, row)
	}
	return a, ok, rows.Err()
}

// carry sends the held-back writes and the read query in one round trip.
// It answers nil rows, with no error, when the read got values it does
// not pass on: the writes are sent, and the caller reads the usual way.
func (b *batch) carry(query string, args []any) (*answeredRows, error) {
	var a *answeredRows
	var ok bool
	_, err := b.send(func(rows pgx.Rows) error {
		var err error
		a, ok, err = readAll(rows)
		return err
	}, heldStmt{query: query, args: args})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	carriedReads.Add(1)
	return a, nil
}

// carriedReads counts the reads that carried writes (tests).
var carriedReads atomic.Int64
