// The pickup page: the browser makes the key pair with WebCrypto, builds
// a PKCS#10 certificate signing request itself (DER written by hand
// below), sends only the CSR to certorder, and offers the private key
// (PKCS#8 PEM) and the issued chain (PEM) for download. The private key
// never leaves this page.
"use strict";

(function () {
  // DER: tag, definite length, contents.
  function der(tag, bytes) {
    var n = bytes.length, len;
    if (n < 0x80) {
      len = [n];
    } else {
      len = [];
      while (n > 0) { len.unshift(n & 0xff); n = n >>> 8; }
      len.unshift(0x80 | len.length);
    }
    var out = new Uint8Array(1 + len.length + bytes.length);
    out[0] = tag;
    out.set(len, 1);
    out.set(bytes, 1 + len.length);
    return out;
  }
  function cat(parts) {
    var n = 0, i, off = 0;
    for (i = 0; i < parts.length; i++) n += parts[i].length;
    var out = new Uint8Array(n);
    for (i = 0; i < parts.length; i++) { out.set(parts[i], off); off += parts[i].length; }
    return out;
  }
  function seq() { return der(0x30, cat(Array.prototype.slice.call(arguments))); }
  function set() { return der(0x31, cat(Array.prototype.slice.call(arguments))); }
  function bytes(a) { return new Uint8Array(a); }
  // An unsigned big-endian integer as a DER INTEGER: no superfluous
  // leading zeros, one zero byte when the high bit is set.
  function uint(b) {
    var i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    b = b.subarray(i);
    if (b[0] & 0x80) b = cat([bytes([0]), b]);
    return der(0x02, b);
  }
  function utf8(s) { return new TextEncoder().encode(s); }

  var OID_CN = bytes([0x06, 0x03, 0x55, 0x04, 0x03]);
  var SHA256_RSA = seq(bytes([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]), bytes([0x05, 0x00]));
  var ECDSA_SHA256 = seq(bytes([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]));

  var KEYS = {
    p256: {
      gen: { name: "ECDSA", namedCurve: "P-256" },
      sign: { name: "ECDSA", hash: "SHA-256" },
      alg: ECDSA_SHA256,
      // WebCrypto signs ECDSA as r || s; PKCS#10 wants SEQUENCE { r, s }.
      sig: function (raw) {
        var half = raw.length / 2;
        return seq(uint(raw.subarray(0, half)), uint(raw.subarray(half)));
      }
    },
    rsa2048: {
      gen: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: bytes([1, 0, 1]), hash: "SHA-256" },
      sign: { name: "RSASSA-PKCS1-v1_5" },
      alg: SHA256_RSA,
      sig: function (raw) { return raw; }
    }
  };

  function b64(b) {
    var s = "", i;
    for (i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s);
  }
  function pem(type, b) {
    var body = b64(b).replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
    return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
  }

  // csr builds CertificationRequest { info, algorithm, signature } for the
  // key pair; the subject is the address (certorder takes only the key).
  async function csr(kind, pair, cn) {
    var k = KEYS[kind];
    var spki = bytes(await crypto.subtle.exportKey("spki", pair.publicKey));
    var name = seq(set(seq(OID_CN, der(0x0c, utf8(cn)))));
    var info = seq(bytes([0x02, 0x01, 0x00]), name, spki, bytes([0xa0, 0x00]));
    var raw = bytes(await crypto.subtle.sign(k.sign, pair.privateKey, info));
    var sig = k.sig(raw);
    return seq(info, k.alg, der(0x03, cat([bytes([0]), sig])));
  }

  function offer(id, text) {
    var a = document.getElementById(id);
    a.href = URL.createObjectURL(new Blob([text], { type: "application/x-pem-file" }));
  }

  // msg is a status line in the page's language: the page puts each in a
  // data-msg-* attribute of the key section; English when it has none.
  function msg(name, english) {
    var v = document.getElementById("keygen").dataset["msg" + name.charAt(0).toUpperCase() + name.slice(1)];
    return v || english;
  }

  async function run() {
    var status = document.getElementById("status");
    var button = document.getElementById("generate");
    var form = document.getElementById("pickup-form");
    var kind = document.getElementById("keytype").value;
    button.disabled = true;
    status.textContent = msg("making", "Making the key pair…");
    try {
      var pair = await crypto.subtle.generateKey(KEYS[kind].gen, true, ["sign", "verify"]);
      var cn = document.getElementById("keygen").getAttribute("data-email") || "certificate";
      var request = await csr(kind, pair, cn);
      var keyPEM = pem("PRIVATE KEY", bytes(await crypto.subtle.exportKey("pkcs8", pair.privateKey)));
      // The key is shown before anything is sent: whatever the answer, the
      // recipient keeps it.
      document.getElementById("key-pem").value = keyPEM;
      offer("key-download", keyPEM);
      document.getElementById("result").hidden = false;
      status.textContent = msg("sending", "Sending the certificate signing request…");
      var body = new URLSearchParams();
      body.set("csrf_token", form.querySelector("input[name=csrf_token]").value);
      body.set("csr", pem("CERTIFICATE REQUEST", request));
      var resp = await fetch(location.pathname, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "Accept": "application/json" }
      });
      var ans = await resp.json();
      if (!resp.ok) {
        status.textContent = ans.error || msg("refused", "The request was refused.");
        button.disabled = false;
        return;
      }
      if (ans.certificate_chain) {
        document.getElementById("chain-pem").value = ans.certificate_chain;
        offer("chain-download", ans.certificate_chain);
        status.textContent = msg("issued", "Your certificate is issued. Download the private key and the certificate chain.");
        document.getElementById("keygen").setAttribute("data-state", "issued");
      } else {
        status.textContent = msg("accepted", "Your request is accepted and the certificate is being signed; keep the private key.");
        document.getElementById("keygen").setAttribute("data-state", "accepted");
      }
      form.hidden = true;
    } catch (e) {
      status.textContent = msg("failed", "The key could not be made:") + " " + e;
      button.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
      document.getElementById("nokeygen").hidden = false;
      return;
    }
    document.getElementById("keygen").hidden = false;
    document.getElementById("generate").addEventListener("click", run);
  });
})();
