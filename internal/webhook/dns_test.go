package webhook

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
)

// serveDNS answers the DNS queries of one connection (TCP framing, as Go's
// resolver uses over a stream) from answers, keyed by fully qualified name:
// A and AAAA records, or NXDOMAIN for a name it does not know.
func serveDNS(c net.Conn, answers map[string][]netip.Addr) {
	defer c.Close()
	for {
		var n [2]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(c, q); err != nil || len(q) < 12 {
			return
		}
		// The question: labels up to a zero byte, then type and class.
		var labels []string
		i := 12
		for i < len(q) && q[i] != 0 {
			l := int(q[i])
			if i+1+l > len(q) {
				return
			}
			labels = append(labels, string(q[i+1:i+1+l]))
			i += 1 + l
		}
		if i+5 > len(q) {
			return
		}
		question := q[12 : i+5]
		qtype := binary.BigEndian.Uint16(q[i+1 : i+3])
		name := strings.ToLower(strings.Join(labels, ".")) + "."
		addrs, known := answers[name]
		var records [][]byte
		for _, a := range addrs {
			if (qtype == 1 && a.Is4()) || (qtype == 28 && a.Is6()) {
				records = append(records, a.AsSlice())
			}
		}
		resp := make([]byte, 12, 512)
		copy(resp, q[:2])
		flags := uint16(0x8180)
		if !known {
			flags |= 3 // NXDOMAIN
		}
		binary.BigEndian.PutUint16(resp[2:], flags)
		binary.BigEndian.PutUint16(resp[4:], 1)
		binary.BigEndian.PutUint16(resp[6:], uint16(len(records)))
		resp = append(resp, question...)
		for _, rd := range records {
			resp = append(resp, 0xC0, 12) // the question's name
			resp = binary.BigEndian.AppendUint16(resp, qtype)
			resp = binary.BigEndian.AppendUint16(resp, 1)
			resp = binary.BigEndian.AppendUint32(resp, 60)
			resp = binary.BigEndian.AppendUint16(resp, uint16(len(rd)))
			resp = append(resp, rd...)
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
		if _, err := c.Write(append(out, resp...)); err != nil {
			return
		}
	}
}
