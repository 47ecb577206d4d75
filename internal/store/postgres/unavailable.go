package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// unavailable reports the errors that mean PostgreSQL cannot be reached or
// cannot take writes now, though nothing is wrong with the request; the
// store wraps them in store.ErrUnavailable. They are:
//   - a connection that cannot be made or was lost: pgx's connect errors,
//     network errors, a connection closed mid-answer, database/sql's bad
//     or closed connections;
//   - SQLSTATE class 08 (connection exception);
//   - 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
//     cannot_connect_now: the server is stopping, recovering or starting;
//   - 53100 disk_full, 53300 too_many_connections: it is out of room;
//   - 25006 read_only_sql_transaction: after a failover the address leads
//     to a standby, which takes no writes.
//
// A caller's cancelled or expired context is not among them: that is the
// caller's doing, not the database's.
func unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", "53100", "53300", "25006":
			return true
		}
		return strings.HasPrefix(pe.Code, "08")
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		pgconn.SafeToRetry(err)
}
