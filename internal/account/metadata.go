package account

import (
	"context"
	"fmt"
	"strings"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

var metadataTypes = map[string]bool{"anything": true, "text": true, "int": true, "email_address": true, "email_list": true}

// CreateMetadata defines an account custom field (POST /account/metadata),
// which orders then fill through custom_fields.
func (s *Service) CreateMetadata(ctx context.Context, actor Actor, label, dataType string, required, active bool) (int64, error) {
	label = strings.TrimSpace(label)
	var list errs.List
	if label == "" {
		list.Add(errs.MissingField("label"))
	} else if len(label) > 100 {
		list.Add(errs.InvalidValue("label", "label must be at most 100 characters."))
	}
	if dataType == "" {
		dataType = "anything"
	}
	if !metadataTypes[dataType] {
		list.Add(errs.InvalidValue("data_type", "data_type must be one of anything, text, int, email_address, email_list."))
	}
	if err := list.Err(); err != nil {
		return 0, err
	}
	if actor.User.AccessRole != store.RoleAdministrator {
		return 0, errs.New(errs.Forbidden, "access_denied|missing_permission", "Only administrators can define custom fields.")
	}
	m := &store.Metadata{AccountID: actor.Account.ID, Label: label, IsRequired: required, IsActive: active, DataType: dataType}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateMetadata(ctx, m); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "metadata.created", fmt.Sprintf("metadata:%d", m.ID), map[string]any{"label": label, "required": required})
	})
	if err != nil {
		return 0, errs.Internalf(err, "create metadata")
	}
	return m.ID, nil
}
