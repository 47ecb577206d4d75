package compat_test

// Response types mirrored from each client: field names and Go types as the
// client declares them (facts only; the code is ours). Decoding an answer
// into them with encoding/json fails where the client's own decoder fails:
// a string where it declares a number, an object where it declares an
// array, a date its time type cannot parse. For the C# client the types
// follow Newtonsoft.Json's conversions (cs* below); for the dynamic
// clients (Python, Ruby) they hold what the client indexes, with the types
// its use implies.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

var decoders = map[string]func() any{
	// sapcc/go-certcentral
	"sapcc.Order": func() any { return new(sapccOrder) },
	"sapcc.OrganizationList": func() any {
		return new(struct {
			Organizations []sapccOrganization `json:"organizations"`
		})
	},
	"sapcc.Organization": func() any { return new(sapccOrganization) },
	"sapcc.ProductList": func() any {
		return new(struct {
			Products []sapccProduct `json:"products"`
		})
	},
	"sapcc.DomainList": func() any {
		return new(struct {
			Domains []sapccDomain `json:"domains"`
		})
	},
	"sapcc.Domain":         func() any { return new(sapccDomain) },
	"sapcc.RevokeResponse": func() any { return new(sapccRevokeResponse) },

	// marqeta/go-digicert
	"marqeta.Order":            func() any { return new(marqetaOrder) },
	"marqeta.OrderList":        func() any { return new(struct{ Orders *[]marqetaOrder }) },
	"marqeta.ProductList":      func() any { return new(struct{ Products []*marqetaProduct }) },
	"marqeta.OrganizationList": func() any { return new(struct{ Organizations *[]marqetaOrganization }) },
	"marqeta.Organization":     func() any { return new(marqetaOrganization) },

	// myklst/terraform-provider-st-digicert
	"tf.IssueCertRespBody": func() any { return new(tfIssueCertRespBody) },
	"tf.OrderRespBody":     func() any { return new(tfOrderRespBody) },
	"tf.OrderListRespBody": func() any {
		return new(struct {
			Orders []tfOrderRespBody `json:"orders"`
		})
	},
	"tf.ProductListRespBody": func() any {
		return new(struct {
			Products []struct{ NameID, Name string } `json:"products"`
		})
	},
	"tf.Organization": func() any {
		return new(struct {
			ID int `json:"id"`
		})
	},
	"tf.CertificateChainList": func() any {
		return new(struct {
			CertificateChain []tfChain `json:"intermediates"`
		})
	},
	"tf.IntermediateListRespBody": func() any {
		return new(struct {
			Intermediates []struct {
				SubjectCommonName string `json:"subject_common_name"`
				IssuerCommonName  string `json:"issuer_common_name"`
			} `json:"intermediates"`
		})
	},
	"tf.DomainListRespBody": func() any {
		return new(struct {
			Domains []tfDomain `json:"domains"`
		})
	},
	"tf.Domain": func() any { return new(tfDomain) },
	"tf.ErrorMsgList": func() any {
		return new(struct {
			ErrorMsg []tfErrorMsg `json:"errors"`
		})
	},

	// Venafi/digicert-ca-connector
	"venafi.RequestCertificateResponse": func() any { return new(venafiRequestCertificateResponse) },
	"venafi.OrderDetails":               func() any { return new(venafiOrderDetails) },
	"venafi.OrderDetailsSearchResponse": func() any {
		return new(struct {
			Orders []venafiOrderDetails `json:"orders"`
			Page   struct {
				Total  int `json:"total"`
				Limit  int `json:"limit"`
				Offset int `json:"offset"`
			} `json:"page"`
		})
	},
	"venafi.RevokeCertificateResponse": func() any {
		return new(struct {
			ID     int    `json:"id"`
			Status string `json:"status"`
		})
	},
	"venafi.GetOrganizationsResponse": func() any {
		return new(struct {
			Organizations []struct {
				ID       int    `json:"id"`
				Name     string `json:"name"`
				Status   string `json:"status"`
				IsActive bool   `json:"is_active"`
			} `json:"organizations"`
		})
	},
	"venafi.GetProductDetails": func() any {
		return new(struct {
			ProductDetails []struct {
				Hashes struct {
					AllowedHashTypes []struct {
						ID   string `json:"id"`
						Name string `json:"name"`
					} `json:"allowed_hash_types"`
					DefaultHashType string `json:"default_hash_type_id"`
				} `json:"signature_hash_types"`
				CertificateType string `json:"type"`
				Name            string `json:"name"`
				NameID          string `json:"name_id"`
			} `json:"products"`
		})
	},

	// Keyfactor/digicert-certcentral-cagateway (Newtonsoft.Json)
	"kf.OrderResponse":                 func() any { return new(kfOrderResponse) },
	"kf.ViewCertificateOrderResponse":  func() any { return new(kfViewCertificateOrderResponse) },
	"kf.ListCertificateOrdersResponse": func() any { return new(kfListCertificateOrdersResponse) },
	"kf.StatusChangesResponse":         func() any { return new(kfStatusChangesResponse) },
	"kf.RevokeCertificateResponse":     func() any { return new(kfRevokeCertificateResponse) },
	"kf.CertificateChainResponse":      func() any { return new(struct{ Intermediates []kfChainElement }) },
	"kf.CertificateList": func() any {
		return new(struct {
			Certificates []kfCertificateOrder `json:"certificates"`
		})
	},
	"kf.ListOrganizationsResponse": func() any {
		return new(struct {
			Organizations []kfOrganization `json:"organizations"`
		})
	},
	"kf.ListDomainsResponse": func() any {
		return new(struct {
			Domains []kfDomainDetails `json:"domains"`
		})
	},
	"kf.CertificateTypesResponse": func() any {
		return new(struct {
			Products []kfTypesProduct `json:"products"`
		})
	},
	"kf.CertificateTypeDetailsResponse": func() any { return new(kfCertificateTypeDetailsResponse) },
	"kf.ListMetadataResponse": func() any {
		return new(struct {
			MetadataFields []kfMetadata `json:"metadata"`
		})
	},

	// Netflix/lemur (Python dicts: the keys it reads)
	"lemur.OrderCreated": func() any {
		return new(struct {
			ID json.Number `json:"id"`
		})
	},
	"lemur.Order": func() any {
		return new(struct {
			Status      string `json:"status"`
			Certificate struct {
				ID json.Number `json:"id"`
			} `json:"certificate"`
		})
	},

	// digicert/digicert_client (Python dicts)
	"dc.UserMe": func() any {
		return new(struct {
			Container struct {
				ID json.Number `json:"id"`
			} `json:"container"`
		})
	},
	"dc.Organizations": func() any {
		return new(struct {
			Organizations []struct {
				ID                                       int64 `json:"id"`
				Name, Address, City, State, Zip, Country string
			} `json:"organizations"`
		})
	},
	"dc.Domains": func() any {
		return new(struct {
			Domains []struct {
				Name         string `json:"name"`
				Organization struct {
					ID int64 `json:"id"`
				} `json:"organization"`
			} `json:"domains"`
		})
	},
	"dc.Order": func() any {
		return new(struct {
			Certificate struct {
				ID json.Number `json:"id"`
			} `json:"certificate"`
		})
	},

	// riboseinc/digicert (OpenStruct: what the gem reads)
	"ruby.Order": func() any { return new(rubyOrder) },
	"ruby.Created": func() any {
		return new(struct {
			ID       int `json:"id"`
			Requests []struct {
				ID     int    `json:"id"`
				Status string `json:"status"`
			} `json:"requests"`
		})
	},
}

// sapcc/go-certcentral: order.go @ 11f64c93def83c617a44dda0f40955291b689619,
// certificate.go, organization.go, domain.go, dcv.go, validation.go,
// container.go, user.go, server_platform.go, product.go
// @ 136c50dd38aa9164483c78c7c7075d25fda8045d.
type sapccOrder struct {
	Certificate                 sapccCertificate   `json:"certificate,omitempty"`
	Organization                *sapccOrganization `json:"organization,omitempty"`
	ValidityYears               int                `json:"validity_years,omitempty"`
	CustomExpirationDate        string             `json:"custom_expiration_date,omitempty"`
	Comments                    string             `json:"comments,omitempty"`
	ProcessorComment            string             `json:"processor_comment,omitempty"`
	DisableRenewalNotifications bool               `json:"disable_renewal_notifications,omitempty"`
	RenewalOfOrderID            int                `json:"renewal_of_order_id,omitempty"`
	PaymentMethod               string             `json:"payment_method,omitempty"`
	SkipApproval                bool               `json:"skip_approval,omitempty"`
	Product                     *sapccProduct      `json:"product,omitempty"`
	OrganizationContact         *sapccUser         `json:"organization_contact,omitempty"`
	TechnicalContact            *sapccUser         `json:"technical_contact,omitempty"`
	User                        *sapccUser         `json:"user,omitempty"`
	CsProvisioningMethod        string             `json:"cs_provisioning_method,omitempty"`
	DisableCT                   bool               `json:"disable_ct,omitempty"`
	Requests                    []struct {
		ID       int        `json:"id"`
		Date     *time.Time `json:"date,omitempty"`
		Type     string     `json:"type,omitempty"`
		Status   string     `json:"status,omitempty"`
		Comments string     `json:"comments,omitempty"`
	} `json:"requests,omitempty"`
	ID               int             `json:"id"`
	Domains          []sapccDomain   `json:"domains,omitempty"`
	CertificateID    int             `json:"certificate_id,omitempty"`
	CertificateChain []sapccChain    `json:"certificate_chain,omitempty"`
	Container        *sapccContainer `json:"container,omitempty"`
	Status           string          `json:"status,omitempty"`
}

type sapccCertificate struct {
	CommonName     string   `json:"common_name"`
	DNSNames       []string `json:"dns_names"`
	CSR            string   `json:"csr,omitempty"`
	ServerPlatform struct {
		ID         int    `json:"id"`
		Name       string `json:"name,omitempty"`
		InstallURL string `json:"install_url,omitempty"`
		CsrURL     string `json:"csr_url,omitempty"`
	} `json:"server_platform"`
	SignatureHash     string             `json:"signature_hash"`
	CaCertID          string             `json:"ca_cert_id,omitempty"`
	OrganizationUnits []string           `json:"organization_units,omitempty"`
	Organization      *sapccOrganization `json:"organization,omitempty"`
	ProfileOption     string             `json:"profile_option,omitempty"`
	ID                int                `json:"id,omitempty"`
	Thumbprint        string             `json:"thumbprint,omitempty"`
	SerialNumber      string             `json:"serial_number,omitempty"`
	DateCreated       *time.Time         `json:"date_created,omitempty"`
	ValidFrom         string             `json:"valid_from,omitempty"`
	ValidTill         string             `json:"valid_till,omitempty"`
	KeySize           int                `json:"key_size,omitempty"`
	CACert            *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"ca_cert,omitempty"`
}

type sapccChain struct {
	SubjectCommonName string `json:"subject_common_name"`
	Pem               string `json:"pem"`
}

type sapccOrganization struct {
	ID                  int               `json:"id"`
	Status              string            `json:"status"`
	Name                string            `json:"name"`
	AssumedName         string            `json:"assumed_name,omitempty"`
	DisplayName         string            `json:"display_name,omitempty"`
	IsActive            bool              `json:"is_active,omitempty"`
	Address             string            `json:"address"`
	Address2            string            `json:"address2,omitempty"`
	City                string            `json:"city"`
	State               string            `json:"state"`
	Zip                 string            `json:"zip"`
	Country             string            `json:"country"`
	Telephone           string            `json:"telephone,omitempty"`
	Container           *sapccContainer   `json:"container,omitempty"`
	Validations         []sapccValidation `json:"validations,omitempty"`
	EvApprovers         []sapccUser       `json:"ev_approvers,omitempty"`
	OrganizationContact *sapccUser        `json:"organization_contact,omitempty"`
	Contacts            []sapccUser       `json:"contacts,omitempty"`
}

type sapccValidation struct {
	Type           string      `json:"type"`
	Name           string      `json:"name"`
	Description    string      `json:"description"`
	DateCreated    *time.Time  `json:"date_created,omitempty"`
	ValidatedUntil *time.Time  `json:"validated_until,omitempty"`
	Status         string      `json:"status"`
	DcvStatus      string      `json:"dcv_status,omitempty"`
	VerifiedUsers  []sapccUser `json:"verified_users,omitempty"`
}

type sapccContainer struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	IsActive bool   `json:"is_active"`
}

type sapccUser struct {
	ID          int    `json:"id"`
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	Email       string `json:"email,omitempty"`
	JobTitle    string `json:"job_title,omitempty"`
	Telephone   string `json:"telephone,omitempty"`
	Name        string `json:"name,omitempty"`
	ContactType string `json:"contact_type,omitempty"`
}

type sapccProduct struct {
	GroupName             string `json:"group_name,omitempty"`
	NameID                string `json:"name_id,omitempty"`
	Name                  string `json:"name,omitempty"`
	Type                  string `json:"type,omitempty"`
	ValidationType        string `json:"validation_type,omitempty"`
	ValidationName        string `json:"validation_name,omitempty"`
	ValidationDescription string `json:"validation_description,omitempty"`
}

type sapccDomain struct {
	ID           int                `json:"id"`
	Name         string             `json:"name"`
	IsActive     bool               `json:"is_active,omitempty"`
	DateCreated  *time.Time         `json:"date_created,omitempty"`
	Organization *sapccOrganization `json:"organization,omitempty"`
	Validations  []sapccValidation  `json:"validations,omitempty"`
	DCV          *struct {
		Method    string `json:"method,omitempty"`
		NameScope string `json:"name_scope,omitempty"`
		// dcv.go declares DcvInvitations []DCVInvitations where
		// DCVInvitations is itself a slice type: an array of arrays.
		DcvInvitations [][]struct {
			InvitationID int       `json:"invitation_id"`
			Email        string    `json:"email,omitempty"`
			Source       string    `json:"source,omitempty"`
			DateSent     time.Time `json:"date_sent,omitempty"`
			NameScope    string    `json:"name_scope,omitempty"`
		} `json:"dcv_invitations,omitempty"`
	} `json:"dcv,omitempty"`
	Container *sapccContainer `json:"container,omitempty"`
}

type sapccRevokeResponse struct {
	ID        int        `json:"id"`
	Date      *time.Time `json:"date,omitempty"`
	Type      string     `json:"type,omitempty"`
	Status    string     `json:"status,omitempty"`
	Requester *sapccUser `json:"requester,omitempty"`
	Comments  string     `json:"comments,omitempty"`
}

// marqeta/go-digicert: digicert/orders.go @ 1150ca5baa12f7e3a8406674db3b61bd3dec0de0,
// certificates.go @ c7d7c382cab854bd2f50d3a493c5aa2ea3b4f79f,
// organizations.go @ 036e3059b8b36a85988edfcd9a074bd3afd08e12,
// products.go @ 1150ca5baa12f7e3a8406674db3b61bd3dec0de0.
type marqetaOrder struct {
	ID          int64 `json:"id"`
	Certificate *struct {
		ID                int64    `json:"id"`
		CommonName        string   `json:"common_name"`
		DNSNames          []string `json:"dns_names"`
		CSR               string   `json:"csr"`
		OrganizationUnits []string `json:"organization_units,omitempty"`
		ServerPlatform    struct {
			ID int `json:"id"`
		} `json:"server_platform,omitempty"`
		SignatureHash string `json:"signature_hash"`
		ProfileOption string `json:"profile_option,omitempty"`
	} `json:"certificate,omitempty"`
	ValidityYears               int                  `json:"validity_years"`
	CustomExpirationDate        string               `json:"custom_expiration_date,omitempty"`
	Comments                    string               `json:"comments,omitempty"`
	DisableRenewalNotifications bool                 `json:"disable_renewal_notifications,omitempty"`
	RenewalOfOrderID            int                  `json:"renewal_of_order_id,omitempty"`
	PaymentMethod               string               `json:"payment_method,omitempty"`
	Status                      string               `json:"status,omitempty"`
	Organization                *marqetaOrganization `json:"organization"`
	Requests                    []*struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	} `json:"requests,omitempty"`
	CertficateID int64 `json:"certificate_id,omitempty"`
}

type marqetaOrganization struct {
	ID          int    `json:"id,omitempty"`
	Status      string `json:"status,omitempty"`
	Name        string `json:"name,omitempty"`
	AssumedName string `json:"assumed_name,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	IsActive    bool   `json:"is_active,omitempty"`
	Address     string `json:"address,omitempty"`
	Address2    string `json:"address2,omitempty"`
	Zip         string `json:"zip,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Country     string `json:"country,omitempty"`
	Telephone   string `json:"telephone,omitempty"`
	// Container (containers.go) is not mirrored: its type was not read.
	Validations []struct {
		Type           string    `json:"type"`
		Name           string    `json:"name"`
		Description    string    `json:"description"`
		DateCreated    time.Time `json:"date_created,omitempty"`
		ValidatedUntil time.Time `json:"validated_until,omitempty"`
		Status         string    `json:"status"`
		VerifiedUsers  []struct {
			ID        int    `json:"id"`
			FirstName string `json:"first_name"`
			LastName  string `json:"last_name"`
		} `json:"verified_users,omitempty"`
	} `json:"validations,omitempty"`
	EvApprovers []struct {
		ID        int    `json:"id"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	} `json:"ev_approvers,omitempty"`
}

type marqetaProduct struct {
	GroupName            string
	NameID               string `json:"name_id"`
	Name                 string
	Type                 string
	AllowedContainerIDs  []int `json:"allowed_container_ids"`
	AllowedValidityYears []int `json:"allowed_validity_years"`
}

// myklst/terraform-provider-st-digicert: digicert/resource_certificate.go
// @ 07c222ad826d5801ff328e2bc4afd804376f988b.
type tfIssueCertRespBody struct {
	OrderID          int       `json:"id"`
	CertificateID    int       `json:"certificate_id"`
	CertificateChain []tfChain `json:"certificate_chain"`
	Domains          []struct {
		ID       int        `json:"id"`
		Name     string     `json:"name"`
		DcvToken tfDcvToken `json:"dcv_token"`
	} `json:"domains"`
	SubjectCommonName string       `json:"subject_common_name"`
	OrderValidTill    string       `json:"order_valid_till"`
	DcvRandomValue    string       `json:"dcv_random_value"`
	ErrorMsg          []tfErrorMsg `json:"errors"`
}

type tfOrderRespBody struct {
	ID          int `json:"id"`
	Certificate struct {
		ID               int       `json:"id"`
		Status           string    `json:"status"`
		CommonName       string    `json:"common_name"`
		ValidTill        string    `json:"valid_till"`
		CertificateChain []tfChain `json:"certificate_chain"`
		Organization     struct {
			ID int `json:"id"`
		} `json:"organization"`
		CSR string `json:"csr"`
	} `json:"certificate"`
	Status         string       `json:"status"`
	OrderValidTill string       `json:"order_valid_till"`
	IsRenewed      bool         `json:"is_renewed"`
	ErrorMsg       []tfErrorMsg `json:"errors"`
}

type tfChain struct {
	SubjectCommonName string `json:"subject_common_name"`
	Pem               string `json:"pem"`
}

type tfDomain struct {
	ID                  int        `json:"id"`
	Name                string     `json:"name"`
	IsPendingValidation bool       `json:"is_pending_validation"`
	DcvToken            tfDcvToken `json:"dcv_token"`
}

type tfDcvToken struct {
	Token  string `json:"token"`
	Status string `json:"status"`
}

type tfErrorMsg struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Venafi/digicert-ca-connector: internal/app/service/certificate.go
// @ 18801a04ddb573113e904a553e067a26853385a1.
type venafiRequestCertificateResponse struct {
	ID               int `json:"id"`
	CertificateID    int `json:"certificate_id"`
	CertificateChain []struct {
		Pem string `json:"pem"`
	} `json:"certificate_chain"`
}

type venafiOrderDetails struct {
	ID          int    `json:"id"`
	Status      string `json:"status"`
	Certificate *struct {
		ID        int    `json:"id"`
		ValidTill string `json:"valid_till"`
	} `json:"certificate"`
}

// Keyfactor/digicert-certcentral-cagateway: API/*.cs at the commits named
// in the recordings. Newtonsoft.Json converts between JSON scalars more
// freely than encoding/json; the cs* types below do what it does.
type kfOrderResponse struct {
	OrderID  csInt `json:"id"`
	Requests []struct {
		ID     csString `json:"id"`
		Status csString `json:"status"`
	} `json:"requests"`
	CertificateID    csIntNullable    `json:"certificate_id"`
	CertificateChain []kfChainElement `json:"certificate_chain"`
	DCVRandomValue   csString         `json:"dcv_random_value"`
}

type kfChainElement struct {
	SubjectCommonName csString `json:"subject_common_name"`
	PEM               csString `json:"pem"`
}

type kfIDInformation struct {
	ID   csString `json:"id"`
	Name csString `json:"name"`
}

type kfCertificateOrder struct {
	ID             csInt            `json:"id"`
	Thumbprint     csString         `json:"thumbprint"`
	Status         csString         `json:"status"`
	SerialNumber   csString         `json:"serial_number"`
	CommonName     csString         `json:"common_name"`
	DNSNames       []csString       `json:"dns_names"`
	DateCreated    csDateNullable   `json:"date_created"`
	ValidFrom      csDateNullable   `json:"valid_from"`
	ValidTill      csDateNullable   `json:"valid_till"`
	CSR            csString         `json:"csr"`
	Organization   *kfIDInformation `json:"organization"`
	OrgUnits       []csString       `json:"organization_units"`
	ServerPlatform *struct {
		ID         csInt    `json:"id"`
		Name       csString `json:"name"`
		InstallURL csString `json:"install_url"`
		CSRURL     csString `json:"csr_url"`
	} `json:"server_platform"`
	SignatureHash csString         `json:"signature_hash"`
	KeySize       csInt            `json:"key_size"`
	CACert        *kfIDInformation `json:"ca_cert"`
}

type kfProduct struct {
	NameID                csString `json:"name_id"`
	Name                  csString `json:"name"`
	Type                  csString `json:"type"`
	ValidationType        csString `json:"validation_type"`
	ValidationName        csString `json:"validation_name"`
	ValidationDescription csString `json:"validation_description"`
}

type kfViewCertificateOrderResponse struct {
	ID          csInt               `json:"id"`
	Certificate *kfCertificateOrder `json:"certificate"`
	Status      csString            `json:"status"`
	DateCreated csDateNullable      `json:"date_created"`
	Product     *kfProduct          `json:"product"`
	// Requests: RequestSummary as DigiCertCAConnector.cs reads it (type,
	// status, comments, and date as the revocation date).
	Requests []struct {
		ID       csInt          `json:"id"`
		Date     csDateNullable `json:"date"`
		Type     csString       `json:"type"`
		Status   csString       `json:"status"`
		Comments csString       `json:"comments"`
	} `json:"requests"`
	DCVMethod csString `json:"dcv_method"`
	Notes     []struct {
		ID   csInt    `json:"id"`
		Text csString `json:"text"`
	} `json:"notes"`
}

type kfListCertificateOrdersResponse struct {
	Orders []struct {
		ID          csInt `json:"id"`
		Certificate *struct {
			ID            csInt      `json:"id"`
			CommonName    csString   `json:"common_name"`
			DNSNames      []csString `json:"dns_names"`
			SignatureHash csString   `json:"signature_hash"`
		} `json:"certificate"`
		Status        csString         `json:"status"`
		DateCreated   csString         `json:"date_created"`
		ValidityYears csInt            `json:"validity_years"`
		Container     *kfIDInformation `json:"container"`
		Product       *kfProduct       `json:"product"`
		Price         csDecimal        `json:"price"`
		HasDuplicates csBool           `json:"has_duplicates"`
		IsRenewed     csBool           `json:"is_renewed"`
	} `json:"orders"`
	Page struct {
		Total  csInt `json:"total"`
		Page   csInt `json:"page"`
		Offset csInt `json:"offset"`
	} `json:"page"`
}

type kfStatusChangesResponse struct {
	Orders []struct {
		OrderID       csInt    `json:"order_id"`
		CertificateID csInt    `json:"certificate_id"`
		Status        csString `json:"status"`
	} `json:"orders"`
}

type kfRevokeCertificateResponse struct {
	RequestID csInt  `json:"id"`
	Date      csDate `json:"date"`
	Type      csString
	Requester *struct {
		ID        csInt    `json:"id"`
		FirstName csString `json:"first_name"`
		LastName  csString `json:"last_name"`
		Email     csString `json:"email"`
	} `json:"requester"`
	Comments csString `json:"comments"`
}

type kfOrganization struct {
	ID          csInt    `json:"id"`
	Status      csString `json:"status"`
	Name        csString `json:"name"`
	DisplayName csString `json:"display_name"`
	IsActive    csString `json:"is_active"`
	Address     csString `json:"address"`
	Address2    csString `json:"address2"`
	Zip         csString `json:"zip"`
	City        csString `json:"city"`
	State       csString `json:"state"`
	Country     csString `json:"country"`
	Telephone   csString `json:"telephone"`
	Container   *struct {
		ID       csInt    `json:"id"`
		ParentID csInt    `json:"parent_id"`
		Name     csString `json:"name"`
		IsActive csBool   `json:"is_active"`
	} `json:"container"`
	EvApprovers []struct {
		ID        csInt    `json:"id"`
		FirstName csString `json:"first_name"`
		LastName  csString `json:"last_name"`
	} `json:"ev_approvers"`
}

type kfDomainDetails struct {
	ID           csInt    `json:"id"`
	IsActive     csBool   `json:"is_active"`
	Name         csString `json:"name"`
	DateCreated  csDate   `json:"date_created"`
	Organization *struct {
		ID          csInt    `json:"id"`
		Name        csString `json:"name"`
		AssumedName csString `json:"assumed_name"`
		DisplayName csString `json:"display_name"`
	} `json:"organization"`
	Container *kfIDInformation `json:"container"`
}

type kfTypesProduct struct {
	GroupName csString `json:"group_name"`
	NameID    csString `json:"name_id"`
	Name      csString `json:"name"`
	Type      csString `json:"type"`
}

type kfCertificateTypeDetailsResponse struct {
	GroupName                csString `json:"group_name"`
	NameID                   csString `json:"name_id"`
	Name                     csString `json:"name"`
	Type                     csString `json:"type"`
	RemainingCertsInContract csInt    `json:"remaining_certs_in_contract"`
	DuplicatesAllowed        csBool   `json:"duplicates_allowed"`
	AllowedValidityYears     []csInt  `json:"allowed_validity_years"`
	SignatureHashType        *struct {
		AllowedHashTypes []struct {
			ID   csString `json:"id"`
			Name csString `json:"name"`
		} `json:"allowed_hash_types"`
		DefaultHashTypeID csString `json:"default_hash_type_id"`
	} `json:"signature_hash_types"`
	AdditionalDNSNamesAllowed     csBool `json:"additional_dns_names_allowed"`
	IncreasedCompatibilityAllowed csBool `json:"increased_compatibility_allowed"`
	CustomExpirationDateAllowed   csBool `json:"custom_expiration_date_allowed"`
	CSRRequired                   csBool `json:"csr_required"`
	AllowAutoRenew                csBool `json:"allowed_auto_renew"`
	ServerPlatforms               []struct {
		ID         csInt    `json:"id"`
		Name       csString `json:"name"`
		InstallURL csString `json:"install_url"`
		CSRURL     csString `json:"csr_url"`
	} `json:"server_platforms"`
	LicenseAgreement csString `json:"license_agreement"`
}

type kfMetadata struct {
	ID          csInt    `json:"id"`
	Label       csString `json:"label"`
	Required    csBool   `json:"is_required"`
	Active      csBool   `json:"is_active"`
	DataType    csString `json:"data_type"`
	Description csString `json:"description"`
}

// riboseinc/digicert: lib/digicert/order_reissuer.rb
// @ 0aee15e1871aa6499b00ef7f6c4d3ee45d38aec0 reads these of an order
// (OpenStruct: a missing server_platform is nil, and nil.id raises).
type rubyOrder struct {
	ID          int    `json:"id"`
	Status      string `json:"status"`
	Certificate struct {
		ID             int      `json:"id"`
		CommonName     string   `json:"common_name"`
		DNSNames       []string `json:"dns_names"`
		CSR            string   `json:"csr"`
		SignatureHash  string   `json:"signature_hash"`
		ServerPlatform *struct {
			ID int `json:"id"`
		} `json:"server_platform"`
	} `json:"certificate"`
}

// Newtonsoft.Json conversions, as the C# client meets them.

// csInt is a non-nullable C# int: a JSON number or a numeric string; null
// throws.
type csInt int64

func (v *csInt) UnmarshalJSON(b []byte) error {
	n, err := csNumber(b, false)
	*v = csInt(n)
	return err
}

// csIntNullable is int?: null is fine.
type csIntNullable struct{ Set bool }

func (v *csIntNullable) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	_, err := csNumber(b, false)
	v.Set = err == nil
	return err
}

// csDecimal is a C# decimal: a number or a numeric string.
type csDecimal float64

func (v *csDecimal) UnmarshalJSON(b []byte) error {
	_, err := csNumber(b, true)
	return err
}

func csNumber(b []byte, fraction bool) (float64, error) {
	s := string(b)
	if s == "null" {
		return 0, fmt.Errorf("null for a non-nullable number")
	}
	if len(s) > 1 && s[0] == '"' {
		s = s[1 : len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a number", b)
	}
	if !fraction && f != float64(int64(f)) {
		return 0, fmt.Errorf("%s is not an integer", b)
	}
	return f, nil
}

// csString is a C# string: Newtonsoft writes any scalar into it; an object
// or array throws.
type csString string

func (v *csString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		return fmt.Errorf("%.40s where a string is declared", b)
	}
	var s any
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*v = csString(fmt.Sprint(s))
	return nil
}

// csBool is a non-nullable bool: true/false or their strings.
type csBool bool

func (v *csBool) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true", `"true"`, `"True"`:
		*v = true
	case "false", `"false"`, `"False"`:
	default:
		return fmt.Errorf("%s where a bool is declared", b)
	}
	return nil
}

// csDate is a non-nullable DateTime; csDateNullable is DateTime?. Both
// take the ISO 8601 forms DateTime.Parse takes: a date, or a date and
// time with or without an offset.
type csDate struct{ time.Time }

func (v *csDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return fmt.Errorf("null for a non-nullable DateTime")
	}
	t, err := csParseDate(b)
	v.Time = t
	return err
}

type csDateNullable struct{ time.Time }

func (v *csDateNullable) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	t, err := csParseDate(b)
	v.Time = t
	return err
}

func csParseDate(b []byte) (time.Time, error) {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return time.Time{}, fmt.Errorf("%s where a DateTime is declared", b)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a DateTime", s)
}
