package server

import (
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/interval-go/sdk/internal/protocol"
)

// The history API pages with a total, filters by outcome and text, refuses
// bad values, hides other users' development runs from non-admins (in the
// count too), and exports the selection as CSV with formulas kept as text.
func TestHistoryFiltersPagesAndExport(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	dev := e.newUser(admin, "dev@example.com", "developer")
	h := e.host(admin.key("production"), "", action("refund"), action("-cmd"))
	hd := e.host(admin.key("development"), "", action("refund"))
	b := admin.browser()
	var ids []string
	for i := range 7 {
		id := admin.startRun(b, h, "refund", "production")
		if i == 3 {
			h.must(protocol.MethodMarkTransactionComplete, protocol.MarkTransactionCompleteInputs{TransactionID: id, ResultStatus: "FAILURE",
				Result: `{"status":"FAILURE","data":{"error":"Error","message":"declined"}}`})
		} else {
			complete(t, h, id, "ok")
		}
		ids = append(ids, id)
	}
	complete(t, h, admin.startRun(b, h, "-cmd", "production"), "ok")
	complete(t, hd, admin.startRun(b, hd, "refund", "development"), "ok")

	type page struct {
		Transactions []txSummary
		Total        int
	}
	var p page
	admin.do("GET", "/api/console/transactions?env=production&slug=refund&limit=3&offset=3", nil, http.StatusOK, &p)
	if p.Total != 7 || len(p.Transactions) != 3 || p.Transactions[0].ID != ids[3] {
		t.Fatalf("page 2: total %d, %d runs, first %s (want %s)", p.Total, len(p.Transactions), p.Transactions[0].ID, ids[3])
	}
	admin.do("GET", "/api/console/transactions?env=production&result=FAILURE", nil, http.StatusOK, &p)
	if p.Total != 1 || p.Transactions[0].ID != ids[3] {
		t.Fatalf("failed runs: %+v", p)
	}
	admin.do("GET", "/api/console/transactions?q=-CMD", nil, http.StatusOK, &p)
	if p.Total != 1 || p.Transactions[0].Slug != "-cmd" {
		t.Fatalf("search: %+v", p)
	}
	for _, bad := range []string{"result=DONE", "from=yesterday", "to=-5", "limit=x", "offset=-1"} {
		if code := admin.try("GET", "/api/console/transactions?"+bad, nil, nil); code != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d", bad, code)
		}
	}
	// The admin's development run: the admin sees it, the developer not,
	// and the developer's total does not count it.
	admin.do("GET", "/api/console/transactions", nil, http.StatusOK, &p)
	if p.Total != 9 {
		t.Fatalf("admin total %d", p.Total)
	}
	dev.do("GET", "/api/console/transactions", nil, http.StatusOK, &p)
	if p.Total != 8 || len(p.Transactions) != 8 {
		t.Fatalf("developer total %d, %d listed", p.Total, len(p.Transactions))
	}

	req, _ := http.NewRequest("GET", e.hs.URL+"/api/console/transactions/export.csv?env=production", nil)
	resp, err := admin.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: HTTP %d %v", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, body)
	}
	if len(rows) != 9 || rows[0][0] != "id" || rows[1][2] != "'-cmd" || rows[1][5] != "SUCCESS" {
		t.Fatalf("export rows:\n%s", body)
	}
	failed := 0
	for _, r := range rows[1:] {
		if r[5] == "FAILURE" {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d failed runs exported", failed)
	}
}
