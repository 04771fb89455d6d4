package apk

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// IDs of the pairs in the APK Signing Block.
const (
	blockIDv2  = 0x7109871a
	blockIDv3  = 0xf05368c0
	blockIDv31 = 0x1b93ad61
)

var sigBlockMagic = []byte("APK Sig Block 42")

const maxSigBlock = 64 << 20

// signingBlock reads the APK Signing Block that sits right before the
// central directory, and returns the first signer's certificate digest per
// scheme ("v2", "v3", "v3.1"). An APK without a block returns nil, nil.
func signingBlock(r io.ReaderAt, cdOffset int64) (map[string]string, error) {
	if cdOffset < 32 {
		return nil, nil
	}
	var foot [24]byte
	if _, err := r.ReadAt(foot[:], cdOffset-24); err != nil {
		return nil, err
	}
	if !bytes.Equal(foot[8:], sigBlockMagic) {
		return nil, nil
	}
	size := binary.LittleEndian.Uint64(foot[:8])
	if size < 24 || size > maxSigBlock || int64(size)+8 > cdOffset {
		return nil, fmt.Errorf("signing block size %d", size)
	}
	block := make([]byte, size+8)
	if _, err := r.ReadAt(block, cdOffset-int64(size)-8); err != nil {
		return nil, err
	}
	if binary.LittleEndian.Uint64(block) != size {
		return nil, errors.New("signing block sizes disagree")
	}
	pairs := block[8 : len(block)-24]
	out := map[string]string{}
	for len(pairs) > 0 {
		if len(pairs) < 12 {
			return nil, errors.New("signing block pair cut off")
		}
		n := binary.LittleEndian.Uint64(pairs)
		if n < 4 || n > uint64(len(pairs)-8) {
			return nil, errors.New("signing block pair length")
		}
		id := binary.LittleEndian.Uint32(pairs[8:])
		val := pairs[12 : 8+n]
		pairs = pairs[8+n:]
		scheme := map[uint32]string{blockIDv2: "v2", blockIDv3: "v3", blockIDv31: "v3.1"}[id]
		if scheme == "" {
			continue // padding, verity, source stamp, …
		}
		cert, err := firstSchemeCert(val)
		if err != nil {
			return nil, fmt.Errorf("%s block: %w", scheme, err)
		}
		out[scheme] = certDigest(cert)
	}
	return out, nil
}

// lp splits one uint32-length-prefixed field off b.
func lp(b []byte) (field, rest []byte, err error) {
	if len(b) < 4 {
		return nil, nil, errors.New("length prefix cut off")
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, errors.New("length-prefixed field runs past its parent")
	}
	return b[4 : 4+n], b[4+n:], nil
}

// firstSchemeCert returns the first certificate of the first signer of a v2
// or v3 block value: signers → signer → signed data → digests, certificates.
func firstSchemeCert(val []byte) ([]byte, error) {
	signers, _, err := lp(val)
	if err != nil {
		return nil, err
	}
	signer, _, err := lp(signers)
	if err != nil {
		return nil, err
	}
	signed, _, err := lp(signer)
	if err != nil {
		return nil, err
	}
	_, rest, err := lp(signed) // digests
	if err != nil {
		return nil, err
	}
	certs, _, err := lp(rest)
	if err != nil {
		return nil, err
	}
	cert, _, err := lp(certs)
	if err != nil {
		return nil, err
	}
	if len(cert) == 0 {
		return nil, errors.New("empty certificate")
	}
	return cert, nil
}

func certDigest(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// PKCS#7 SignedData, as far as the JAR signature block needs.
type pkcs7ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type pkcs7SignedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	ContentInfo      asn1.RawValue
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      asn1.RawValue // SET OF SignerInfo
}

// pkcs7SignerInfo holds the leading fields of a SignerInfo; the rest of
// the SEQUENCE is ignored by encoding/asn1.
type pkcs7SignerInfo struct {
	Version int
	Issuer  struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}
}

// v1Cert returns the signer certificate of a META-INF/*.RSA|DSA|EC block:
// the certificate matching the first SignerInfo's issuer and serial, or the
// first certificate when none matches.
func v1Cert(block []byte) ([]byte, error) {
	var ci pkcs7ContentInfo
	if _, err := asn1.Unmarshal(block, &ci); err != nil {
		return nil, fmt.Errorf("PKCS#7: %w", err)
	}
	var sd pkcs7SignedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("PKCS#7 SignedData: %w", err)
	}
	var certs [][]byte
	for rest := sd.Certificates.Bytes; len(rest) > 0 && len(certs) < 100; {
		var raw asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &raw); err != nil {
			return nil, fmt.Errorf("PKCS#7 certificate: %w", err)
		}
		certs = append(certs, raw.FullBytes)
	}
	if len(certs) == 0 {
		return nil, errors.New("PKCS#7 block has no certificate")
	}
	var si pkcs7SignerInfo
	if _, err := asn1.Unmarshal(sd.SignerInfos.Bytes, &si); err == nil && si.Issuer.Serial != nil {
		want := si.Issuer
		for _, c := range certs {
			x, err := x509.ParseCertificate(c)
			if err == nil && x.SerialNumber.Cmp(want.Serial) == 0 && bytes.Equal(x.RawIssuer, want.Issuer.FullBytes) {
				return c, nil
			}
		}
	}
	return certs[0], nil
}
