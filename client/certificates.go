package client

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
)

// Download formats.
const (
	FormatPEMAll            = "pem_all"            // leaf, intermediate, root
	FormatPEMNoRoot         = "pem_noroot"         // leaf, intermediate
	FormatPEMNoIntermediate = "pem_nointermediate" // leaf only
	FormatP7B               = "p7b"                // PEM-armoured PKCS#7
	FormatDefault           = "default"            // zip of PEM .crt files
	FormatApache            = "apache"             // zip without the root
	FormatDefaultCER        = "default_cer"        // zip of .cer files
	FormatDefaultPEM        = "default_pem"        // zip of PEM files
	FormatCER               = "cer"                // PEM-armoured PKCS#7
)

const downloadContentTypeNoHdr = "application/octet-stream"

// DownloadCertificate downloads a certificate in the given format and
// returns the body with its Content-Type.
func (c *Client) DownloadCertificate(ctx context.Context, certID int64, format string) ([]byte, string, error) {
	return c.download(ctx, "/certificate/"+pathInt(certID)+"/download/format/"+url.PathEscape(format))
}

// DownloadOrderCertificate downloads an order's current certificate.
func (c *Client) DownloadOrderCertificate(ctx context.Context, orderID int64, format string) ([]byte, string, error) {
	return c.download(ctx, "/certificate/download/order/"+pathInt(orderID)+"/format/"+url.PathEscape(format))
}

func (c *Client) download(ctx context.Context, path string) ([]byte, string, error) {
	data, h, err := c.send(ctx, request{method: http.MethodGet, path: path, raw: true})
	if err != nil {
		return nil, "", err
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = downloadContentTypeNoHdr
	}
	return data, ct, nil
}

// CertificateChainPEM downloads pem_all and parses it: leaf first.
func (c *Client) CertificateChainPEM(ctx context.Context, certID int64) ([]*x509.Certificate, error) {
	data, _, err := c.DownloadCertificate(ctx, certID, FormatPEMAll)
	if err != nil {
		return nil, err
	}
	return ParsePEMCertificates(data)
}

// ParsePEMCertificates parses every CERTIFICATE block of data. Other block
// types and text between blocks are an error.
func ParsePEMCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("certcentral: unexpected PEM block %q", b.Type)
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certcentral: parse certificate %d: %w", len(out)+1, err)
		}
		out = append(out, cert)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("certcentral: %d bytes of non-PEM data after the certificates", len(rest))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("certcentral: no certificate in PEM data")
	}
	return out, nil
}

// GetCertificateChain reads GET /certificate/{id}/chain. certorder lists
// the whole chain, end-entity first; CertCentral may list intermediates only.
func (c *Client) GetCertificateChain(ctx context.Context, certID int64) ([]ChainElement, error) {
	var out struct {
		Intermediates []ChainElement `json:"intermediates"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/certificate/" + pathInt(certID) + "/chain"}, &out); err != nil {
		return nil, err
	}
	return out.Intermediates, nil
}
