package api

import (
	"net/http"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/conformance"
	"github.com/certorder/certorder/internal/faults"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/validation"
)

// tags group the operations, in the order the document lists them.
var tags = [][2]string{
	{"Orders", "Certificate orders: placing, reading, listing, CSR updates, status changes, reissues and duplicates."},
	{"Requests", "Approval requests of orders, reissues, duplicates and revocations."},
	{"Certificates", "Certificate downloads, chains, intermediates and revocation."},
	{"Validation", "Domain control validation of orders, mailbox validation and EV approvals."},
	{"Organizations", "Organizations and their validations."},
	{"Domains", "Domains and their control validation."},
	{"Users", "Users and API keys."},
	{"Containers", "Containers (divisions) of the account."},
	{"Account", "The account: balance, products, custom fields, mail settings."},
	{"Sandbox", "certorder's own: the sandbox's business clock, outbox, fault rules and client conformance report (servers started with --sandbox)."},
	{"PKI", "What relying parties fetch: CA certificates, CRLs, OCSP."},
	{"Links", "The pages that emailed links open (the link's secret is the credential)."},
	{"Operations", "Health, metrics and this document."},
	{"Console", "The web console's pages (HTML)."},
}

// idAnswer is the {"id": n} of several creations.
var idAnswer = obj(req("id", integer))

// chainAnswer is {"intermediates": [chain elements]}.
var chainList = obj(req("intermediates", arr(typ[chainElem]())))

// apiOps describe the authenticated API routes, by the pattern given to
// api() in routes() (the path after /services/v2).
var apiOps = map[string]op{
	// Orders.
	"POST /order/certificate/{product}": {tag: "Orders", summary: "Order a certificate",
		desc: "Places an order of the product whose name_id is {id}. Answers the order's id and request, or, when it issued at once, its certificate_id and certificate_chain.",
		in:   typ[order.CreateInput](), out: []answer{created(typ[createOrderAnswer]())}},
	"GET /order/certificate/{id}": {tag: "Orders", summary: "Order info",
		desc: "The order, by id, or by its certificate's thumbprint or serial number.",
		out:  []answer{ok(typ[orderView]())}},
	"GET /order/certificate": {tag: "Orders", summary: "List orders", listQuery: true, csv: true,
		out: []answer{ok(list("orders", typ[orderListItem]()))}},
	"PUT /order/certificate/{id}/csr": {tag: "Orders", summary: "Add or replace the CSR of an order",
		in: body(req("csr", str)), out: []answer{noContentAnswer}},
	"PUT /order/certificate/{id}/status": {tag: "Orders", summary: "Cancel an order",
		in: typ[order.OrderStatusInput](), out: []answer{noContentAnswer}},
	"PUT /order/certificate/{id}/auto-reissue": {tag: "Orders", summary: "Turn automatic reissue on or off",
		in: body(req("auto_reissue", typ[flex.Int]())), out: []answer{noContentAnswer}},
	"POST /order/certificate/{id}/reissue": {tag: "Orders", summary: "Reissue the order's certificate",
		in: typ[order.CertOpInput](), inOptional: true, out: []answer{created(typ[certOpAnswer]())}},
	"GET /order/certificate/{id}/reissue": {tag: "Orders", summary: "List the order's reissues",
		query: []param{{"show_archived", "true or false (nothing is archived).", str}},
		out:   []answer{ok(obj(req("certificates", arr(typ[reissueView]()))))}},
	"POST /order/certificate/{id}/duplicate": {tag: "Orders", summary: "Duplicate the order's certificate",
		in: typ[order.CertOpInput](), inOptional: true, out: []answer{created(typ[certOpAnswer]())}},
	"GET /order/certificate/{id}/duplicate": {tag: "Orders", summary: "List the order's duplicates",
		query: []param{{"show_archived", "true or false (nothing is archived).", str}},
		out:   []answer{ok(obj(req("certificates", arr(typ[duplicateView]()))))}},
	"GET /order/certificate/status-changes": {tag: "Orders", summary: "Orders whose status changed in a time frame",
		query: []param{{"minutes", "A window ending now, at most 10080.", integer}, {"seconds", "A window ending now, at most 604800.", integer},
			{"filters[status_last_updated]", "start...end, at most 7 days.", str}},
		out: []answer{ok(obj(req("orders", arr(typ[statusChangeView]()))))}},
	"GET /finance/balance": {tag: "Account", summary: "Account balance",
		out: []answer{ok(obj(req("balance", str), req("currency", str)))}},

	// Requests.
	"GET /request": {tag: "Requests", summary: "List requests", listQuery: true, csv: true,
		out: []answer{ok(list("requests", typ[requestView]()))}},
	"GET /request/{id}": {tag: "Requests", summary: "Request info", out: []answer{ok(typ[requestView]())}},
	"PUT /request/{id}/status": {tag: "Requests", summary: "Approve or reject a request",
		in: typ[order.RequestStatusInput](), out: []answer{noContentAnswer}},

	// Certificates.
	"GET /certificate/{id}/download/format/{format}": {tag: "Certificates", summary: "Download a certificate in a format",
		out: []answer{downloadAnswer}},
	"GET /certificate/download/order/{id}/format/{format}": {tag: "Certificates", summary: "Download an order's certificate in a format",
		query: []param{{"subId", "The sub_id of a duplicate (001, 002...) to download instead.", str}},
		out:   []answer{downloadAnswer}},
	"GET /certificate/download/order/{id}": {tag: "Certificates", summary: "Download an order's certificate",
		query: []param{{"formatType", "The format (pem_all, p7b, default...).", str}, {"subId", "The sub_id of a duplicate to download instead.", str}},
		out:   []answer{downloadAnswer}},
	"GET /certificate/{id}/download/platform": {tag: "Certificates", summary: "Download a certificate for its server platform",
		query: []param{{"formatType", "The format (pem_all, p7b, default...).", str}},
		out:   []answer{downloadAnswer}},
	"GET /certificate/{id}/download/platform/{platform}": {tag: "Certificates", summary: "Download a certificate for a server platform",
		query: []param{{"formatType", "The format (pem_all, p7b, default...).", str}},
		out:   []answer{downloadAnswer}},
	"GET /certificate/{id}/chain": {tag: "Certificates", summary: "A certificate's chain, end-entity first",
		out: []answer{ok(chainList)}},
	"GET /certificate/intermediates": {tag: "Certificates", summary: "The issuing CAs",
		out: []answer{ok(obj(req("intermediates", arr(typ[intermediateView]()))))}},
	"PUT /certificate/{id}/revoke": {tag: "Certificates", summary: "Revoke a certificate",
		desc: "By id or serial number. 201 with the revocation request when it waits for approval; 204 when revoked at once.",
		in:   typ[order.RevokeInput](), inOptional: true,
		out: []answer{created(typ[revokeRequestView]()), noContentAnswer}},
	"PUT /order/certificate/{id}/revoke": {tag: "Certificates", summary: "Revoke every certificate of an order",
		in: typ[order.RevokeInput](), inOptional: true,
		out: []answer{created(typ[revokeRequestView]()), noContentAnswer}},

	// Organizations.
	"GET /organization": {tag: "Organizations", summary: "List organizations", listQuery: true,
		out: []answer{ok(list("organizations", typ[organizationView]()))}},
	"GET /organization/{id}": {tag: "Organizations", summary: "Organization info", out: []answer{ok(typ[organizationView]())}},
	"POST /organization": {tag: "Organizations", summary: "Create an organization",
		in: typ[validation.OrgCreateInput](), out: []answer{created(typ[idView]())}},
	"DELETE /organization/{id}": {tag: "Organizations", summary: "Delete an organization no order or domain uses",
		out: []answer{noContentAnswer}},
	"GET /organization/{id}/validation": {tag: "Organizations", summary: "The organization's validations",
		out: []answer{ok(obj(req("validations", arr(typ[orgValidationView]()))))}},
	"POST /organization/{id}/validation": {tag: "Organizations", summary: "Submit the organization for validation",
		in: typ[validation.OrgValidationsInput](), out: []answer{noContentAnswer}},
	"PUT /organization/{id}/validation/{type}": {tag: "Organizations", summary: "Grant an organization validation (certorder's own)",
		desc: "An administrator records that the organization passed validation of the type (ov, ev, cs, ev_cs...).",
		in:   typ[grantInput](), inOptional: true, out: []answer{noContentAnswer}},

	// Domains.
	"POST /domain": {tag: "Domains", summary: "Add a domain", in: typ[validation.DomainInput](),
		out: []answer{created(typ[submissionView]())}},
	"GET /domain": {tag: "Domains", summary: "List domains", listQuery: true,
		query: []param{{"container_id", "Only the domains of the container.", integer}},
		out:   []answer{ok(list("domains", typ[domainView]()))}},
	"GET /domain/{id}": {tag: "Domains", summary: "Domain info", out: []answer{ok(typ[domainView]())}},
	"POST /domain/{id}/validation": {tag: "Domains", summary: "Submit the domain for validation",
		in: typ[validation.DomainSubmitInput](), out: []answer{created(typ[submissionView]())}},
	"POST /domain/{id}/dcv/token": {tag: "Domains", summary: "A new DCV token for the domain",
		out: []answer{created(typ[tokenAnswer]())}},
	"PUT /domain/{id}/dcv/validate-token": {tag: "Domains", summary: "Check the domain's DCV token now",
		out: []answer{ok(typ[tokenAnswer]())}},
	"PUT /domain/{id}/dcv/method": {tag: "Domains", summary: "Change the domain's DCV method",
		in: typ[dcvMethodInput](), out: []answer{ok(typ[submissionView]())}},
	"GET /domain/{id}/dcv/emails": {tag: "Domains", summary: "The addresses that may approve the domain by email",
		desc: "{id} is the domain's id or name.", out: []answer{ok(typ[domainEmailsView]())}},
	"PUT /domain/{id}/dcv/emails": {tag: "Domains", summary: "Resend the domain's validation emails",
		in: body(opt("locale", str), opt("email_array", arr(str))), inOptional: true, out: []answer{noContentAnswer}},
	"PUT /domain/{id}/dcv/approve": {tag: "Domains", summary: "Grant the domain's control validation (certorder's own)",
		in: typ[grantInput](), inOptional: true, out: []answer{noContentAnswer}},

	// Validation of orders.
	"GET /order/certificate/{id}/validation": {tag: "Validation", summary: "The order's validation status",
		out: []answer{ok(typ[orderValidationView]())}},
	"PUT /order/certificate/{id}/check-dcv": {tag: "Validation", summary: "Check the order's DCV now",
		in: typ[checkDCVInput](), inOptional: true, out: []answer{ok(typ[checkDCVView]())}},
	"PUT /order/certificate/{id}/dcv-method": {tag: "Validation", summary: "Change the order's DCV method",
		desc: "200 with the new random value for a token method, 204 for email.",
		in:   typ[dcvMethodInput](), out: []answer{ok(typ[randomValueView]()), noContentAnswer}},
	"PUT /order/certificate/{id}/dcv-random-value": {tag: "Validation", summary: "A new DCV random value for the order",
		out: []answer{ok(typ[randomValueView]())}},
	"PUT /order/certificate/{id}/resend-emails": {tag: "Validation", summary: "Resend the order's validation emails",
		in: typ[resendEmailsInput](), inOptional: true, out: []answer{noContentAnswer}},
	"PUT /order/certificate/{id}/order-approval/resend-emails": {tag: "Validation", summary: "Resend the EV approval emails",
		in: typ[resendApprovalInput](), inOptional: true, out: []answer{noContentAnswer}},
	"GET /order/certificate/{id}/email-validation": {tag: "Validation", summary: "Mailbox validation of a client order's addresses",
		out: []answer{ok(typ[emailValidationsView]())}},
	"PUT /order/certificate/{id}/email-validation/{token}": {tag: "Validation", summary: "Confirm a mailbox with its emailed token",
		query: []param{{"email", "The address confirmed.", str}}, out: []answer{noContentAnswer}},
	"PUT /email-validation/{token}": {tag: "Validation", summary: "Confirm a mailbox with its emailed token (no order id)",
		query: []param{{"email", "The address confirmed.", str}}, out: []answer{noContentAnswer}},

	// Containers.
	"GET /container": {tag: "Containers", summary: "List containers",
		out: []answer{ok(obj(req("containers", arr(typ[containerView]()))))}},
	"GET /container/{id}": {tag: "Containers", summary: "Container info", out: []answer{ok(typ[containerView]())}},
	"GET /container/{id}/children": {tag: "Containers", summary: "The container's children",
		out: []answer{ok(obj(req("containers", arr(typ[containerView]()))))}},
	"POST /container/{id}/children": {tag: "Containers", summary: "Create a child container",
		in: typ[account.ContainerInput](), out: []answer{created(idAnswer)}},
	"POST /container": {tag: "Containers", summary: "Create a container",
		in: typ[account.ContainerInput](), out: []answer{created(idAnswer)}},

	// Users and keys.
	"POST /user": {tag: "Users", summary: "Create a user",
		desc: "api_key is there for a service user, whose key is made with it.",
		in:   typ[account.UserInput](), out: []answer{created(obj(req("id", integer), opt("api_key", str)))}},
	"GET /user": {tag: "Users", summary: "List users", listQuery: true,
		query: []param{{"container_id", "Only the users of the container.", integer}},
		out:   []answer{ok(list("users", typ[userView]()))}},
	"GET /user/{id}":    {tag: "Users", summary: "User info", out: []answer{ok(typ[userView]())}},
	"DELETE /user/{id}": {tag: "Users", summary: "Delete a user (and revoke their keys)", out: []answer{noContentAnswer}},
	"PUT /user/{id}":    {tag: "Users", summary: "Edit a user", in: typ[account.EditUserInput](), out: []answer{noContentAnswer}},
	"POST /key/user/{user_id}": {tag: "Users", summary: "Create an API key for a user",
		in:  body(opt("name", str), opt("restricted_to_role_id", typ[flex.Int]())),
		out: []answer{created(obj(req("id", integer), req("api_key", str)))}},
	"GET /key": {tag: "Users", summary: "List API keys",
		query: []param{{"user_id", "Only the keys of the user.", integer}},
		out:   []answer{ok(obj(req("api_keys", arr(typ[keyView]()))))}},
	"GET /key/{id}": {tag: "Users", summary: "API key info", out: []answer{ok(typ[keyView]())}},
	"PUT /key/{id}/status": {tag: "Users", summary: "Revoke an API key",
		in: body(req("status", str)), out: []answer{noContentAnswer}},
	"GET /user/me": {tag: "Users", summary: "The key's user",
		out: []answer{ok(obj(req("id", integer), req("username", str), req("account_id", integer), req("first_name", str),
			req("last_name", str), req("email", str), req("job_title", str), req("telephone", str), req("status", str),
			req("type", str), req("container", schema{"anyOf": []any{typ[containerView](), schema{"type": "null"}}}),
			req("has_container_assignments", boolean), req("access_roles", arr(typ[accessRoleView]()))))}},

	// Account.
	"GET /product": {tag: "Account", summary: "List the products",
		out: []answer{ok(obj(req("products", arr(typ[productInfoView]()))))}},
	"GET /product/{name_id}": {tag: "Account", summary: "Product info", out: []answer{ok(typ[productInfoView]())}},
	"GET /account/metadata": {tag: "Account", summary: "List the custom order fields",
		out: []answer{ok(obj(req("metadata", arr(typ[metadataView]()))))}},
	"POST /account/metadata": {tag: "Account", summary: "Create a custom order field",
		in: typ[metadataInput](), out: []answer{created(idAnswer)}},
	"GET /account": {tag: "Account", summary: "The account and its administrators' mail",
		out: []answer{ok(obj(req("id", integer), req("admin_email", str)))}},
	"PUT /account": {tag: "Account", summary: "Set who the account's mail reaches",
		in: typ[account.AccountEmailsInput](), out: []answer{noContentAnswer}},
	"GET /account/settings": {tag: "Account", summary: "The account's mail settings (certorder's own)",
		out: []answer{ok(obj(req("account_settings", arr(typ[account.Setting]()))))}},
	"PUT /account/settings": {tag: "Account", summary: "Change the account's mail settings (certorder's own)",
		in: typ[account.SettingsInput](), out: []answer{noContentAnswer}},

	// Sandbox.
	"GET /sandbox/clock": {tag: "Sandbox", summary: "The sandbox's business clock", out: []answer{ok(typ[clockView]())}},
	"POST /sandbox/clock": {tag: "Sandbox", summary: "Move the sandbox's business clock forward",
		in: body(opt("advance", str), opt("to", str)), out: []answer{ok(typ[clockView]())}},
	"GET /sandbox/mail": {tag: "Sandbox", summary: "The sandbox's outbox", listQuery: true,
		query: []param{{"recipient", "", str}, {"kind", "", str}, {"order_id", "", integer}},
		out:   []answer{ok(list("mails", typ[sandboxMailView]()))}},
	"GET /sandbox/faults": {tag: "Sandbox", summary: "The fault rules in force for the account, and the faults injected",
		out: []answer{ok(typ[faultsAnswer]())}},
	"POST /sandbox/faults": {tag: "Sandbox", summary: "Put a fault rule in force for the account's keys",
		in: typ[faults.Spec](), out: []answer{created(typ[faults.View]())}},
	"DELETE /sandbox/faults/{id}": {tag: "Sandbox", summary: "End a fault rule", out: []answer{noContentAnswer}},
	"GET /sandbox/conformance": {tag: "Sandbox", summary: "What the account's clients send that CertCentral does not document",
		query: []param{{"api_key_id", "", integer}}, out: []answer{ok(typ[conformance.Report]())}},
	"DELETE /sandbox/conformance": {tag: "Sandbox", summary: "Forget what the account's clients sent",
		query: []param{{"api_key_id", "", integer}}, out: []answer{noContentAnswer}},
}

// downloadAnswer is a certificate file.
var downloadAnswer = answer{status: http.StatusOK, desc: "The certificate file (Content-Disposition names it).",
	content: media("application/x-pem-file", "application/x-pkcs7-certificates", "application/zip")}

// htmlPage is a page of an emailed link (or its error page).
var htmlPage = media("text/html; charset=utf-8")

// linkOp is one emailed link's page or form.
func linkOp(summary string) op {
	return op{tag: "Links", summary: summary,
		out: []answer{{status: http.StatusOK, desc: "The page.", content: htmlPage},
			{status: http.StatusForbidden, desc: "A form sent without its page's token, or an address that may not validate.", content: htmlPage},
			{status: http.StatusNotFound, desc: "An unknown, used or expired link.", content: htmlPage},
			{status: http.StatusBadRequest, desc: "The answer was refused.", content: htmlPage},
			{status: http.StatusInternalServerError, desc: "The answer could not be recorded.", content: htmlPage},
			{status: http.StatusServiceUnavailable, desc: "A lookup or the store is unavailable.", content: htmlPage}}}
}

// notFoundRoute is the envelope of a path that names no object.
var notFoundRoute = answer{status: http.StatusNotFound, desc: "No such file.", s: schema{"$ref": "#/components/schemas/Errors"}}

// openOps describe the routes without an API key, by their full pattern.
var openOps = map[string]op{
	"GET /healthz": {tag: "Operations", summary: "Readiness: whether the store takes writes",
		out: []answer{ok(obj(req("status", str))),
			{status: http.StatusServiceUnavailable, desc: "The store is unavailable.", s: schema{"$ref": "#/components/schemas/Errors"}}}},
	metricsPattern: {tag: "Operations", summary: "Prometheus metrics",
		desc: "Served here unless serve --metrics-addr moves it to a listener of its own (or off).",
		out: []answer{{status: http.StatusOK, desc: "The metrics in Prometheus's text format (or OpenMetrics when asked for).",
			content: media("text/plain; version=0.0.4; charset=utf-8; escaping=underscores", "application/openmetrics-text")}}},
	"GET " + OpenAPIPath: {tag: "Operations", summary: "This document (OpenAPI 3.1)",
		out: []answer{ok(schema{"type": "object"})}},
	"GET /ca/{file}": {tag: "PKI", summary: "A CA certificate (root.crt or <issuer id>.crt), DER",
		out: []answer{{status: http.StatusOK, desc: "The certificate.", content: media("application/pkix-cert")}, notFoundRoute}},
	"GET /crl/{file}": {tag: "PKI", summary: "An issuer's CRL (<issuer id>.crl, root.crl), DER",
		out: []answer{{status: http.StatusOK, desc: "The CRL.", content: media("application/pkix-crl")}, notFoundRoute,
			{status: http.StatusServiceUnavailable, desc: "The CRL could not be produced.", s: schema{"$ref": "#/components/schemas/Errors"}}}},
	"GET /ocsp/{request...}": {tag: "PKI", summary: "OCSP, GET (RFC 6960 appendix A, base64 request in the path)",
		out: []answer{{status: http.StatusOK, desc: "The OCSP response (error statuses too).", content: media("application/ocsp-response")}}},
	"POST /ocsp": {tag: "PKI", summary: "OCSP, POST (application/ocsp-request body)",
		out: []answer{{status: http.StatusOK, desc: "The OCSP response (error statuses too).", content: media("application/ocsp-response")}}},
	"GET /dcv/email/{secret}":       linkOp("The page of an emailed domain control validation link"),
	"POST /dcv/email/{secret}":      linkOp("Approve domain control through an emailed link"),
	"GET /order-approval/{secret}":  linkOp("The page of an emailed EV order approval link"),
	"POST /order-approval/{secret}": linkOp("Approve or reject an EV order through an emailed link"),
	"GET /mailbox/{secret}":         linkOp("The page of an emailed mailbox validation link"),
	"POST /mailbox/{secret}":        linkOp("Confirm a mailbox through an emailed link"),
	"GET /pickup/{secret}":          linkOp("The page of an emailed certificate pickup link"),
	"POST /pickup/{secret}": func() op {
		o := linkOp("Pick a certificate up with a CSR (JSON for the page's script, Accept: application/json)")
		for i := range o.out {
			o.out[i].content = map[string]any{"text/html; charset=utf-8": schema{},
				"application/json": schema{"schema": typ[pickupAnswer]()}}
		}
		return o
	}(),
	"GET /assets/": {tag: "Links", summary: "The pages' stylesheets and scripts",
		out: []answer{{status: http.StatusOK, desc: "The file.", content: media("text/css; charset=utf-8", "text/javascript; charset=utf-8")},
			{status: http.StatusNotFound, desc: "No such file.", content: media("text/plain; charset=utf-8")}}},
}
