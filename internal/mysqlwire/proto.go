package mysqlwire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Capability flags (the subset airlock speaks about).
const (
	capLongPassword     uint32 = 1 << 0 // also CLIENT_MYSQL: no MariaDB extended capabilities
	capFoundRows        uint32 = 1 << 1
	capLongFlag         uint32 = 1 << 2
	capConnectWithDB    uint32 = 1 << 3
	capCompress         uint32 = 1 << 5
	capLocalFiles       uint32 = 1 << 7
	capProtocol41       uint32 = 1 << 9
	capSSL              uint32 = 1 << 11
	capTransactions     uint32 = 1 << 13
	capSecureConnection uint32 = 1 << 15
	capMultiStatements  uint32 = 1 << 16
	capMultiResults     uint32 = 1 << 17
	capPSMultiResults   uint32 = 1 << 18
	capPluginAuth       uint32 = 1 << 19
	capConnectAttrs     uint32 = 1 << 20
	capPluginAuthLenenc uint32 = 1 << 21
	capSessionTrack     uint32 = 1 << 23
	capDeprecateEOF     uint32 = 1 << 24
	capQueryAttributes  uint32 = 1 << 27
)

// serverCaps are the capabilities airlock offers clients. LOAD DATA LOCAL
// is offered (and mirrored upstream): the upstream's request for the
// client's data is relayed only while a LOAD DATA LOCAL statement that
// was decided runs (localInfile). It leaves out what it cannot relay
// faithfully or check: compression, IGNORE_SPACE (changes how
// function names lex), query attributes, optional result metadata, and
// the MariaDB extensions (bulk execution, metadata caching, progress
// reports), which capLongPassword (CLIENT_MYSQL) switches off.
const serverCaps = capLongPassword | capFoundRows | capLongFlag | capConnectWithDB | capProtocol41 |
	capTransactions | capSecureConnection | capMultiStatements | capMultiResults | capPSMultiResults |
	capPluginAuth | capConnectAttrs | capPluginAuthLenenc | capSessionTrack | capDeprecateEOF | capLocalFiles

// mirroredCaps are the capabilities that change the format or meaning of
// what is relayed; the upstream connection is opened with exactly the
// client's choice of them.
const mirroredCaps = capFoundRows | capMultiStatements | capMultiResults | capPSMultiResults |
	capSessionTrack | capDeprecateEOF | capLocalFiles

// MariaDB's extended capabilities, announced in the greeting's reserved
// bytes by servers without CLIENT_MYSQL (capLongPassword). airlock offers
// only extended column metadata (the "json", "uuid"... format names
// MariaDB clients read), mirrored to the upstream; not progress reports,
// COM_MULTI, bulk execution or metadata caching.
const (
	extMetadata uint32 = 1 << 3 // MARIADB_CLIENT_EXTENDED_METADATA
	serverExt          = extMetadata
)

// Server status flags.
const (
	statusInTrans       uint16 = 0x0001
	statusAutocommit    uint16 = 0x0002
	statusMoreResults   uint16 = 0x0008
	statusCursorExists  uint16 = 0x0040
	statusLastRowSent   uint16 = 0x0080
	statusNoBackslash   uint16 = 0x0200 // NO_BACKSLASH_ESCAPES is on
	statusInTransReadOn uint16 = 0x2000
)

// Commands.
const (
	comSleep            = 0x00
	comQuit             = 0x01
	comInitDB           = 0x02
	comQuery            = 0x03
	comFieldList        = 0x04
	comCreateDB         = 0x05
	comDropDB           = 0x06
	comRefresh          = 0x07
	comShutdown         = 0x08
	comStatistics       = 0x09
	comProcessInfo      = 0x0a
	comConnect          = 0x0b
	comProcessKill      = 0x0c
	comDebug            = 0x0d
	comPing             = 0x0e
	comChangeUser       = 0x11
	comBinlogDump       = 0x12
	comRegisterSlave    = 0x15
	comStmtPrepare      = 0x16
	comStmtExecute      = 0x17
	comStmtSendLongData = 0x18
	comStmtClose        = 0x19
	comStmtReset        = 0x1a
	comSetOption        = 0x1b
	comStmtFetch        = 0x1c
	comResetConnection  = 0x1f
)

// commandNames name the commands airlock refuses, for messages.
var commandNames = map[byte]string{
	comSleep: "COM_SLEEP", comCreateDB: "COM_CREATE_DB", comDropDB: "COM_DROP_DB", comRefresh: "COM_REFRESH",
	comShutdown: "COM_SHUTDOWN", comProcessInfo: "COM_PROCESS_INFO", comConnect: "COM_CONNECT",
	comProcessKill: "COM_PROCESS_KILL", comDebug: "COM_DEBUG", comBinlogDump: "COM_BINLOG_DUMP",
	comRegisterSlave: "COM_REGISTER_SLAVE", 0x1e: "COM_BINLOG_DUMP_GTID", 0xfa: "COM_STMT_BULK_EXECUTE",
}

// Packet headers.
const (
	hdrOK          = 0x00
	hdrAuthMore    = 0x01
	hdrLocalInfile = 0xfb
	hdrEOF         = 0xfe // also AuthSwitchRequest during authentication
	hdrERR         = 0xff
)

// Column types of binary protocol values.
const (
	typeDecimal    = 0x00
	typeTiny       = 0x01
	typeShort      = 0x02
	typeLong       = 0x03
	typeFloat      = 0x04
	typeDouble     = 0x05
	typeNull       = 0x06
	typeTimestamp  = 0x07
	typeLongLong   = 0x08
	typeInt24      = 0x09
	typeDate       = 0x0a
	typeTime       = 0x0b
	typeDateTime   = 0x0c
	typeYear       = 0x0d
	typeNewDate    = 0x0e
	typeVarchar    = 0x0f
	typeBit        = 0x10
	typeTimestamp2 = 0x11
	typeDateTime2  = 0x12
	typeTime2      = 0x13
	typeJSON       = 0xf5
	typeNewDecimal = 0xf6
	typeEnum       = 0xf7
	typeSet        = 0xf8
	typeTinyBlob   = 0xf9
	typeMediumBlob = 0xfa
	typeLongBlob   = 0xfb
	typeBlob       = 0xfc
	typeVarString  = 0xfd
	typeString     = 0xfe
	typeGeometry   = 0xff
)

// Error codes airlock sends.
const (
	erAccessDenied      = 1045 // 28000
	erDBAccessDenied    = 1044 // 42000
	erBadDB             = 1049 // 42000
	erUnknownCom        = 1047 // 08S01
	erServerShutdown    = 1053 // 08S01
	erNetPacketTooLarge = 1153 // 08S01
	erSpecificAccess    = 1227 // 42000: airlock's denials
	erUnknownStmt       = 1243 // HY000
	erNotSupported      = 1235 // 42000
	erUnknown           = 1105 // HY000
	erMalformedPacket   = 1835 // HY000
	erConnectionKilled  = 1927 // 70100
	erHandshake         = 1043 // 08S01
)

// Authentication plugins.
const (
	pluginNative  = "mysql_native_password"
	pluginSHA2    = "caching_sha2_password"
	pluginClear   = "mysql_clear_password"
	pluginSHA256  = "sha256_password"
	sha2FastOK    = 0x03
	sha2FullAuth  = 0x04
	sha2PublicKey = 0x02
)

var errMalformed = errors.New("malformed packet")

// sqlError is an ERR packet's content.
type sqlError struct {
	Code    uint16
	State   string
	Message string
}

func (e *sqlError) Error() string {
	return fmt.Sprintf("ERROR %d (%s): %s", e.Code, e.State, e.Message)
}

// appendERR appends an ERR packet payload.
func appendERR(b []byte, code uint16, state, msg string) []byte {
	b = append(b, hdrERR)
	b = binary.LittleEndian.AppendUint16(b, code)
	b = append(b, '#')
	b = append(b, state...)
	return append(b, msg...)
}

// parseERR decodes an ERR packet payload (with its 0xff header).
func parseERR(p []byte) *sqlError {
	e := &sqlError{State: "HY000"}
	if len(p) < 3 || p[0] != hdrERR {
		e.Message = "malformed error packet"
		return e
	}
	e.Code = binary.LittleEndian.Uint16(p[1:])
	rest := p[3:]
	if len(rest) >= 6 && rest[0] == '#' {
		e.State, rest = string(rest[1:6]), rest[6:]
	}
	e.Message = string(rest)
	return e
}

// appendOK appends an OK packet payload.
func appendOK(b []byte, affected, insertID uint64, status, warnings uint16) []byte {
	b = append(b, hdrOK)
	b = appendLenenc(b, affected)
	b = appendLenenc(b, insertID)
	b = binary.LittleEndian.AppendUint16(b, status)
	return binary.LittleEndian.AppendUint16(b, warnings)
}

// appendEOF appends an EOF packet payload.
func appendEOF(b []byte, warnings, status uint16) []byte {
	b = append(b, hdrEOF)
	b = binary.LittleEndian.AppendUint16(b, warnings)
	return binary.LittleEndian.AppendUint16(b, status)
}

// okInfo is what airlock reads from an OK packet (or an EOF packet, or an
// OK packet sent as end of result set).
type okInfo struct {
	affected  uint64
	status    uint16
	statusAt  int // offset of the status flags in the payload
	hasStatus bool
}

// parseOK decodes the start of an OK packet (header 0x00 or 0xfe).
func parseOK(p []byte) (okInfo, error) {
	if len(p) < 1 {
		return okInfo{}, errMalformed
	}
	affected, n := readLenenc(p[1:])
	if n == 0 {
		return okInfo{}, errMalformed
	}
	pos := 1 + n
	_, n = readLenenc(p[pos:])
	if n == 0 {
		return okInfo{}, errMalformed
	}
	pos += n
	if len(p) < pos+2 {
		return okInfo{}, errMalformed
	}
	return okInfo{affected: affected, status: binary.LittleEndian.Uint16(p[pos:]), statusAt: pos, hasStatus: true}, nil
}

// parseEnd decodes the packet that ends a result set: an EOF packet, or an
// OK packet with the 0xfe header when CLIENT_DEPRECATE_EOF is on.
func parseEnd(p []byte, deprecateEOF bool) (okInfo, error) {
	if deprecateEOF {
		return parseOK(p)
	}
	if len(p) < 5 || p[0] != hdrEOF {
		return okInfo{}, errMalformed
	}
	return okInfo{status: binary.LittleEndian.Uint16(p[3:]), statusAt: 3, hasStatus: true}, nil
}

// isEOFPacket reports whether a packet of length n whose first byte is b
// ends a result set (and is not a row starting with an 8-byte length).
func isEOFPacket(b byte, n int) bool { return b == hdrEOF && n < maxPayload }

// readLenenc reads a length-encoded integer; n is 0 when b is too short
// or the first byte is not a valid length prefix.
func readLenenc(b []byte) (v uint64, n int) {
	if len(b) == 0 {
		return 0, 0
	}
	switch c := b[0]; {
	case c < 0xfb:
		return uint64(c), 1
	case c == 0xfc:
		if len(b) < 3 {
			return 0, 0
		}
		return uint64(binary.LittleEndian.Uint16(b[1:])), 3
	case c == 0xfd:
		if len(b) < 4 {
			return 0, 0
		}
		return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16, 4
	case c == 0xfe:
		if len(b) < 9 {
			return 0, 0
		}
		return binary.LittleEndian.Uint64(b[1:]), 9
	}
	return 0, 0 // 0xfb (NULL) and 0xff are no integers
}

func appendLenenc(b []byte, v uint64) []byte {
	switch {
	case v < 0xfb:
		return append(b, byte(v))
	case v < 1<<16:
		return append(b, 0xfc, byte(v), byte(v>>8))
	case v < 1<<24:
		return append(b, 0xfd, byte(v), byte(v>>8), byte(v>>16))
	}
	b = append(b, 0xfe)
	return binary.LittleEndian.AppendUint64(b, v)
}

// readLenencString reads a length-encoded string; null is set for 0xfb.
func readLenencString(b []byte) (s []byte, null bool, n int, err error) {
	if len(b) > 0 && b[0] == 0xfb {
		return nil, true, 1, nil
	}
	l, n := readLenenc(b)
	if n == 0 || uint64(len(b)-n) < l {
		return nil, false, 0, errMalformed
	}
	return b[n : n+int(l)], false, n + int(l), nil
}

func appendLenencString(b []byte, s string) []byte {
	b = appendLenenc(b, uint64(len(s)))
	return append(b, s...)
}

// cstring reads a NUL-terminated string.
func cstring(b []byte) (string, []byte, error) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), b[i+1:], nil
		}
	}
	return "", nil, errMalformed
}
