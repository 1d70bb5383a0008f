package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// IncidentCreator raises incidents by hand (制单): Options.IncidentCreate.
type IncidentCreator interface {
	Create(ctx context.Context, p auth.Principal, req event.CreateRequest) (event.Incident, error)
}

// IncidentQuerier lists with paging and the archive from the store.
type IncidentQuerier interface {
	Query(p auth.Principal, f event.IncidentFilter) ([]event.Incident, int, error)
}

// OutboxSource reads the ordered outbox of committed steps.
type OutboxSource interface {
	ReadOutbox(p auth.Principal, after uint64, limit int) ([]event.OutboxEntry, error)
}

type apiFunc = func(pattern string, h func(w http.ResponseWriter, r *http.Request, p auth.Principal))

func (s *Server) incidentRoutes(api apiFunc) {
	api("GET /api/v1/incidents", s.incidents)
	api("POST /api/v1/incidents", s.createIncident)
	api("GET /api/v1/incidents/{id}", s.incident)
	api("POST /api/v1/incidents/{id}/{action}", s.act)
	api("GET /api/v1/outbox", s.outbox)
}

// parseTimes reads from and to (RFC3339) of a query; zero when absent.
func parseTimes(q map[string][]string) (from, to time.Time, err error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if v := get("from"); v != "" {
		if from, err = time.Parse(time.RFC3339, v); err != nil {
			return from, to, event.BadRequest("from 须为 RFC3339 时间 / from: not RFC3339")
		}
	}
	if v := get("to"); v != "" {
		if to, err = time.Parse(time.RFC3339, v); err != nil {
			return from, to, event.BadRequest("to 须为 RFC3339 时间 / to: not RFC3339")
		}
	}
	// A query's +08:00 names an instant; the answer says it in UTC.
	return from.UTC(), to.UTC(), nil
}

func atoiParam(v, name string, max int) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > max {
		return 0, event.BadRequest(fmt.Sprintf("%s 须为 0-%d 的整数 / %s: a whole number 0-%d", name, max, name, max))
	}
	return n, nil
}

// incidents lists incidents; with state=reviewed&from&to it is the
// archive (销号归档); offset and limit page the JSON, X-Total-Count says
// how many matched; format=csv gives every match as CSV.
func (s *Server) incidents(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.o.Incidents == nil {
		unavailable(w, "incidents")
		return
	}
	q := r.URL.Query()
	from, to, err := parseTimes(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	f := event.IncidentFilter{State: q.Get("state"), Township: q.Get("township"), Severity: q.Get("severity"), Overdue: q.Get("overdue") != "",
		Source: q.Get("source"), Village: q.Get("village"), From: from, To: to}
	csvOut := q.Get("format") == "csv"
	if f.Offset, err = atoiParam(q.Get("offset"), "offset", 1<<30); err == nil {
		f.Limit, err = atoiParam(q.Get("limit"), "limit", 10000)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	if csvOut {
		f.Offset, f.Limit = 0, 0
	}
	var list []event.Incident
	total := -1
	if qs := s.o.IncidentQuery; qs != nil {
		list, total, err = qs.Query(p, f)
		if err != nil {
			writeErr(w, err)
			return
		}
	} else {
		list = s.o.Incidents.List(p, f)
	}
	if total >= 0 {
		w.Header().Set("X-Total-Count", strconv.Itoa(total))
	}
	if csvOut {
		// Named for its period when it has one, else for the day it was
		// taken; the writer puts the byte-order mark first.
		zone := localZone(s.o.Config())
		name, ascii := "事件-"+s.o.Now().In(zone).Format("2006-01-02")+".csv", "incidents-"+s.o.Now().In(zone).Format("20060102")+".csv"
		if !from.IsZero() && to.After(from) {
			name, ascii = "事件-"+periodName(from, to, zone)+".csv", "incidents-"+from.In(zone).Format("20060102")+"-"+to.Add(-time.Nanosecond).In(zone).Format("20060102")+".csv"
		}
		attachCSV(w, name, ascii)
		_ = event.WriteArchiveCSV(w, list)
		return
	}
	writeJSON(w, 200, s.withActions(p, list))
}

// withActions sets each incident's actions for p, in place.
func (s *Server) withActions(p auth.Principal, list []event.Incident) []event.Incident {
	for i := range list {
		list[i] = s.incidentFor(p, list[i])
	}
	return list
}

// incidentFor is inc as p is handed it: with the steps p may take now.
func (s *Server) incidentFor(p auth.Principal, inc event.Incident) event.Incident {
	inc.Actions = []string{}
	if s.o.Incidents != nil {
		inc.Actions = s.o.Incidents.Actions(p, inc)
	}
	return inc
}

func (s *Server) incident(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.o.Incidents == nil {
		unavailable(w, "incidents")
		return
	}
	inc, err := s.o.Incidents.Get(p, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, s.incidentFor(p, inc))
}

func (s *Server) act(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if s.o.Incidents == nil {
		unavailable(w, "incidents")
		return
	}
	var req event.ActionRequest
	if r.ContentLength != 0 && !s.decodeBody(w, r, &req, true) {
		return
	}
	req.Remote = r.RemoteAddr
	inc, err := s.o.Incidents.Act(r.Context(), p, r.PathValue("id"), r.PathValue("action"), req)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, s.incidentFor(p, inc))
}

// createIncident is 制单 by a person: 201 and the incident.
func (s *Server) createIncident(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	c := s.o.IncidentCreate
	if s.o.Incidents == nil || c == nil {
		unavailable(w, "incidents")
		return
	}
	var req event.CreateRequest
	if !s.decodeBody(w, r, &req, false) {
		return
	}
	req.Remote = r.RemoteAddr
	inc, err := c.Create(r.Context(), p, req)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/incidents/"+inc.ID)
	writeJSON(w, http.StatusCreated, s.incidentFor(p, inc))
}

// outbox reads committed steps after a cursor (county only): what other
// hubs and notifiers consume.
func (s *Server) outbox(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	src := s.o.Outbox
	if s.o.Incidents == nil || src == nil {
		unavailable(w, "outbox")
		return
	}
	q := r.URL.Query()
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, 400, "after 须为步骤编号 / after: a step id")
			return
		}
		after = n
	}
	limit, err := atoiParam(q.Get("limit"), "limit", 10000)
	if err != nil {
		writeErr(w, err)
		return
	}
	out, err := src.ReadOutbox(p, after, limit)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, out)
}
