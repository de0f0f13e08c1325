package interval_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

// nodeRenders are the renders the official @interval/sdk 2.0.0 builds for
// one call of each IO method the traces do not cover (and, for stateful
// methods, its re-renders after the state updates of nodeCase.states),
// with the render id and inputGroupKey removed. They were printed by
// examples/kitchen-sink/conformance/node-renders.js, which runs the SDK's
// own IOClient; rerun it after `npm ci` there to check them.
var nodeRenders = map[string]string{
	"input_text_multiline":           `[{"toRender":[{"methodName":"INPUT_TEXT","label":"Notes","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"defaultValue":"Dear customer,","multiline":true,"lines":4,"disabled":true}}],"kind":"RENDER"}]`,
	"input_email":                    `[{"toRender":[{"methodName":"INPUT_EMAIL","label":"Email","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"helpText":"Work address","placeholder":"name@example.com","defaultValue":"ops@example.com"}}],"kind":"RENDER"}]`,
	"input_number_prepend":           `[{"toRender":[{"methodName":"INPUT_NUMBER","label":"Weight","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"prepend":"kg","placeholder":"Weight","defaultValue":70,"decimals":1}}],"kind":"RENDER"}]`,
	"input_slider":                   `[{"toRender":[{"methodName":"INPUT_SLIDER","label":"Level","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"min":0,"max":10,"step":0.5,"helpText":"How loud","defaultValue":5,"disabled":true}}],"kind":"RENDER"}]`,
	"input_url":                      `[{"toRender":[{"methodName":"INPUT_URL","label":"Site","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"helpText":"Your site","placeholder":"https://…","defaultValue":"https://example.com","allowedProtocols":["http","https"]}}],"kind":"RENDER"}]`,
	"input_url_protocols":            `[{"toRender":[{"methodName":"INPUT_URL","label":"Hook","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"allowedProtocols":["https"]}}],"kind":"RENDER"}]`,
	"input_boolean_disabled":         `[{"toRender":[{"methodName":"INPUT_BOOLEAN","label":"Agree","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"defaultValue":true,"disabled":true}}],"kind":"RENDER"}]`,
	"input_rich_text":                `[{"toRender":[{"methodName":"INPUT_RICH_TEXT","label":"Body","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"helpText":"HTML","placeholder":"Write","defaultValue":"<p>hi</p>"}}],"kind":"RENDER"}]`,
	"input_date_max":                 `[{"toRender":[{"methodName":"INPUT_DATE","label":"Day","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"defaultValue":{"year":2024,"month":3,"day":9},"max":{"year":2024,"month":12,"day":31}}}],"kind":"RENDER"}]`,
	"input_time":                     `[{"toRender":[{"methodName":"INPUT_TIME","label":"At","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"helpText":"Local","defaultValue":{"hour":10,"minute":15},"min":{"hour":9,"minute":0},"max":{"hour":17,"minute":30}}}],"kind":"RENDER"}]`,
	"input_datetime_bounds":          `[{"toRender":[{"methodName":"INPUT_DATETIME","label":"When","isStateful":false,"isOptional":true,"isMultiple":false,"props":{"min":{"year":2024,"month":1,"day":1,"hour":0,"minute":0},"max":{"year":2024,"month":12,"day":31,"hour":23,"minute":59}}}],"kind":"RENDER"}]`,
	"upload_file":                    `[{"toRender":[{"methodName":"UPLOAD_FILE","label":"Data","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"helpText":"A CSV export","allowedExtensions":[".csv"]}}],"kind":"RENDER"}]`,
	"upload_file_multiple":           `[{"toRender":[{"methodName":"UPLOAD_FILE","label":"Docs","isStateful":true,"isOptional":false,"isMultiple":true,"multipleProps":{},"props":{}}],"kind":"RENDER"}]`,
	"input_spreadsheet":              `[{"toRender":[{"methodName":"INPUT_SPREADSHEET","label":"Items","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"helpText":"One line per item","defaultValue":[{"name":"pen","qty":null,"price":1.5,"gift":false}],"columns":{"name":"string","qty":"number?","price":"number","gift":"boolean"}}}],"kind":"RENDER"}]`,
	"search":                         `[{"toRender":[{"methodName":"SEARCH","label":"User","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"results":[{"value":"0:0","label":"Grace","description":"#3"}],"placeholder":"Name","helpText":"Type a name","disabled":false}}],"kind":"RENDER"},{"toRender":[{"methodName":"SEARCH","label":"User","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"results":[{"label":"Ada","description":"#1","value":"1:0"},{"label":"Alan","description":"#2","value":"1:1"}],"placeholder":"Name","helpText":"Type a name","disabled":false}}],"kind":"RENDER"}]`,
	"search_multiple_default":        `[{"toRender":[{"methodName":"SEARCH","label":"Tags","isStateful":true,"isOptional":false,"isMultiple":true,"multipleProps":{"defaultValue":["default:0"]},"props":{"results":[{"value":"default:0","label":"go"}],"disabled":false}}],"kind":"RENDER"}]`,
	"select_single_rich":             `[{"toRender":[{"methodName":"SELECT_SINGLE","label":"Plan","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"options":[{"label":"Free","value":"free","description":"Up to 3 seats","image":{"alt":"Free","size":"thumbnail","url":"https://x/free.png"}},{"label":"Pro","value":"pro"}],"helpText":"Billing plan","searchable":true,"disabled":true}}],"kind":"RENDER"}]`,
	"select_table":                   `[{"toRender":[{"methodName":"SELECT_TABLE","label":"Accounts","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"helpText":"Pick accounts","columns":[{"label":"id","accessorKey":"id"},{"label":"name","accessorKey":"name"},{"label":"Mail","accessorKey":"email"}],"data":[{"key":"0","data":{"id":1,"name":"Ada Lovelace","email":"ada@example.com"},"menu":[{"label":"Open","params":{"id":1},"route":"accounts/open"}],"filterValue":"1 ada lovelace ada@example.com"},{"key":"1","data":{"id":2,"name":"Alan Turing","email":"alan@example.com"},"menu":[{"label":"Open","params":{"id":2},"route":"accounts/open"}],"filterValue":"2 alan turing alan@example.com"},{"key":"2","data":{"id":3,"name":"Grace Hopper","email":"grace@example.com"},"menu":[{"label":"Open","params":{"id":3},"route":"accounts/open"}],"filterValue":"3 grace hopper grace@example.com"}],"defaultPageSize":10,"minSelections":1,"maxSelections":2,"totalRecords":3,"selectedKeys":["0","2"]}}],"kind":"RENDER"},{"toRender":[{"methodName":"SELECT_TABLE","label":"Accounts","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"helpText":"Pick accounts","columns":[{"label":"id","accessorKey":"id"},{"label":"name","accessorKey":"name"},{"label":"Mail","accessorKey":"email"}],"data":[{"key":"2","data":{"id":3,"name":"Grace Hopper","email":"grace@example.com"},"menu":[{"label":"Open","route":"accounts/open","params":{"id":3}}]},{"key":"1","data":{"id":2,"name":"Alan Turing","email":"alan@example.com"},"menu":[{"label":"Open","route":"accounts/open","params":{"id":2}}]},{"key":"0","data":{"id":1,"name":"Ada Lovelace","email":"ada@example.com"},"menu":[{"label":"Open","route":"accounts/open","params":{"id":1}}]}],"defaultPageSize":10,"minSelections":1,"maxSelections":2,"totalRecords":3,"selectedKeys":["2","1","0"]}}],"kind":"RENDER"}]`,
	"confirm_identity":               `[{"toRender":[{"methodName":"CONFIRM_IDENTITY","label":"Confirm it's you","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"gracePeriodMs":60000}}],"kind":"RENDER"}]`,
	"display_code":                   `[{"toRender":[{"methodName":"DISPLAY_CODE","label":"Query","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"code":"SELECT 1","language":"sql"}}],"kind":"RENDER"}]`,
	"display_heading":                `[{"toRender":[{"methodName":"DISPLAY_HEADING","label":"Title","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"level":3,"description":"Sub","menuItems":[{"label":"Go","params":{"id":1},"route":"a"},{"label":"Docs","theme":"primary","url":"https://x/docs"},{"label":"Soon","disabled":true}]}}],"kind":"RENDER"}]`,
	"display_html":                   `[{"toRender":[{"methodName":"DISPLAY_HTML","label":"Note","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"html":"<b>bold</b>"}}],"kind":"RENDER"}]`,
	"display_image":                  `[{"toRender":[{"methodName":"DISPLAY_IMAGE","label":"Logo","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"alt":"Logo","width":"small","height":"small","url":"https://x/logo.png"}}],"kind":"RENDER"}]`,
	"display_link_url":               `[{"toRender":[{"methodName":"DISPLAY_LINK","label":"Docs","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"theme":"secondary","url":"https://x/docs"}}],"kind":"RENDER"}]`,
	"display_link_route":             `[{"toRender":[{"methodName":"DISPLAY_LINK","label":"Refund","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"route":"billing/refund","params":{"id":7}}}],"kind":"RENDER"}]`,
	"display_link_href":              `[{"toRender":[{"methodName":"DISPLAY_LINK","label":"Old","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"theme":"danger","href":"https://x/old"}}],"kind":"RENDER"}]`,
	"display_object":                 `[{"toRender":[{"methodName":"DISPLAY_OBJECT","label":"Order","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"data":{"id":1,"at":"2024-01-02T03:04:05.000Z","big":"12345678901234567","lines":[{"sku":"A","qty":2}]}},"propsMeta":{"values":{"data.at":["Date"],"data.big":["bigint"]}}}],"kind":"RENDER"}]`,
	"display_video":                  `[{"toRender":[{"methodName":"DISPLAY_VIDEO","label":"Demo","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"width":"large","height":"large","url":"https://x/v.mp4","loop":true,"muted":true}}],"kind":"RENDER"}]`,
	"display_video_width_height":     `[{"toRender":[{"methodName":"DISPLAY_VIDEO","label":"Clip","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"width":"small","height":"medium","url":"https://x/c.mp4"}}],"kind":"RENDER"}]`,
	"display_image_width_height":     `[{"toRender":[{"methodName":"DISPLAY_IMAGE","label":"Banner","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"width":"large","height":"thumbnail","url":"https://x/b.png"}}],"kind":"RENDER"}]`,
	"display_grid":                   `[{"toRender":[{"methodName":"DISPLAY_GRID","label":"People","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"data":[{"data":{"label":"Ada Lovelace","description":"ada@example.com","image":{"url":"https://x/1.png","alt":"Ada Lovelace","fit":"cover","aspectRatio":1.5},"menu":[{"label":"Open","params":{"id":1},"route":"people/open"}],"route":"people/view","params":{"id":1}},"key":"0","filterValue":"1 ada lovelace ada@example.com true"},{"data":{"label":"Alan Turing","description":"alan@example.com","image":{"url":"https://x/2.png","alt":"Alan Turing","fit":"cover","aspectRatio":1.5},"menu":[{"label":"Open","params":{"id":2},"route":"people/open"}],"route":"people/view","params":{"id":2}},"key":"1","filterValue":"2 alan turing alan@example.com false"},{"data":{"label":"Grace Hopper","description":"grace@example.com","image":{"url":"https://x/3.png","alt":"Grace Hopper","fit":"cover","aspectRatio":1.5},"menu":[{"label":"Open","params":{"id":3},"route":"people/open"}],"route":"people/view","params":{"id":3}},"key":"2","filterValue":"3 grace hopper grace@example.com true"}],"idealColumnWidth":240,"defaultPageSize":12,"helpText":"Everyone","isFilterable":true,"totalRecords":3,"isAsync":false}}],"kind":"RENDER"},{"toRender":[{"methodName":"DISPLAY_GRID","label":"People","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"data":[{"key":"2","data":{"label":"Grace Hopper","description":"grace@example.com","image":{"url":"https://x/3.png","alt":"Grace Hopper","fit":"cover","aspectRatio":1.5},"menu":[{"label":"Open","route":"people/open","params":{"id":3}}],"route":"people/view","params":{"id":3}}}],"idealColumnWidth":240,"defaultPageSize":12,"helpText":"Everyone","isFilterable":true,"totalRecords":3,"isAsync":false}}],"kind":"RENDER"}]`,
	"display_table_cells":            `[{"toRender":[{"methodName":"DISPLAY_TABLE","label":"Cells","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"helpText":"Rich cells","columns":[{"label":"Name","accessorKey":"name"},{"label":"Open"},{"label":"Avatar"},{"label":"Active","accessorKey":"active"},{"label":"Mail"}],"data":[{"key":"0","data":{"1":{"label":"Open","route":"people/open","params":{"id":1}},"2":{"label":"Ada Lovelace","image":{"alt":"avatar","size":"thumbnail","width":"thumbnail","height":"thumbnail","url":"https://x/1.png"}},"4":{"label":"ada@example.com","url":"mailto:ada@example.com"},"name":{"label":"Ada Lovelace","value":1,"href":"https://x/p/1"},"active":{"label":"yes","value":true,"highlightColor":"green"}},"menu":null,"filterValue":"ada lovelace open ada lovelace yes ada@example.com"},{"key":"1","data":{"1":{"label":"Open","route":"people/open","params":{"id":2}},"2":{"label":"Alan Turing","image":{"alt":"avatar","size":"thumbnail","width":"thumbnail","height":"thumbnail","url":"https://x/2.png"}},"4":{"label":"alan@example.com","url":"mailto:alan@example.com"},"name":{"label":"Alan Turing","value":2,"href":"https://x/p/2"},"active":{"label":"no","value":false,"highlightColor":"red"}},"menu":null,"filterValue":"alan turing open alan turing no alan@example.com"},{"key":"2","data":{"1":{"label":"Open","route":"people/open","params":{"id":3}},"2":{"label":"Grace Hopper","image":{"alt":"avatar","size":"thumbnail","width":"thumbnail","height":"thumbnail","url":"https://x/3.png"}},"4":{"label":"grace@example.com","url":"mailto:grace@example.com"},"name":{"label":"Grace Hopper","value":3,"href":"https://x/p/3"},"active":{"label":"yes","value":true,"highlightColor":"green"}},"menu":null,"filterValue":"grace hopper open grace hopper yes grace@example.com"}],"orientation":"vertical","defaultPageSize":2,"isSortable":false,"isFilterable":false,"totalRecords":3,"isAsync":false},"propsMeta":{"values":{"data.0.menu":["undefined"],"data.1.menu":["undefined"],"data.2.menu":["undefined"]}}}],"kind":"RENDER"},{"toRender":[{"methodName":"DISPLAY_TABLE","label":"Cells","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"helpText":"Rich cells","columns":[{"label":"Name","accessorKey":"name"},{"label":"Open"},{"label":"Avatar"},{"label":"Active","accessorKey":"active"},{"label":"Mail"}],"data":[{"key":"1","data":{"1":{"label":"Open","route":"people/open","params":{"id":2}},"2":{"label":"Alan Turing","image":{"url":"https://x/2.png","alt":"avatar","size":"thumbnail","width":"thumbnail","height":"thumbnail"}},"4":{"label":"alan@example.com","url":"mailto:alan@example.com"},"name":{"label":"Alan Turing","value":2,"href":"https://x/p/2"},"active":{"label":"no","value":false,"highlightColor":"red"}},"filterValue":"alan turing open alan turing no alan@example.com","menu":null},{"key":"0","data":{"1":{"label":"Open","route":"people/open","params":{"id":1}},"2":{"label":"Ada Lovelace","image":{"url":"https://x/1.png","alt":"avatar","size":"thumbnail","width":"thumbnail","height":"thumbnail"}},"4":{"label":"ada@example.com","url":"mailto:ada@example.com"},"name":{"label":"Ada Lovelace","value":1,"href":"https://x/p/1"},"active":{"label":"yes","value":true,"highlightColor":"green"}},"filterValue":"ada lovelace open ada lovelace yes ada@example.com","menu":null},{"key":"2","data":{"1":{"label":"Open","route":"people/open","params":{"id":3}},"2":{"label":"Grace Hopper","image":{"url":"https://x/3.png","alt":"avatar","size":"thumbnail","width":"thumbnail","height":"thumbnail"}},"4":{"label":"grace@example.com","url":"mailto:grace@example.com"},"name":{"label":"Grace Hopper","value":3,"href":"https://x/p/3"},"active":{"label":"yes","value":true,"highlightColor":"green"}},"filterValue":"grace hopper open grace hopper yes grace@example.com","menu":null}],"orientation":"vertical","defaultPageSize":2,"isSortable":false,"isFilterable":false,"totalRecords":3,"isAsync":false},"propsMeta":{"values":{"data.0.menu":["undefined"],"data.1.menu":["undefined"],"data.2.menu":["undefined"]}}}],"kind":"RENDER"}]`,
	"display_grid_async":             `[{"toRender":[{"methodName":"DISPLAY_GRID","label":"Remote cards","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"data":[],"isFilterable":true,"isAsync":true}}],"kind":"RENDER"},{"toRender":[{"methodName":"DISPLAY_GRID","label":"Remote cards","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"data":[{"key":"1","data":{"label":"Alan Turing","url":"https://x/2"},"filterValue":"2 alan turing alan@example.com false"},{"key":"2","data":{"label":"Grace Hopper","url":"https://x/3"},"filterValue":"3 grace hopper grace@example.com true"}],"isFilterable":true,"totalRecords":3,"isAsync":true}}],"kind":"RENDER"}]`,
	"display_metadata_images":        `[{"toRender":[{"methodName":"DISPLAY_METADATA","label":"Profile","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"data":[{"label":"Photo","value":"Ada","image":{"alt":"Ada","size":"small","url":"https://x/ada.png"}},{"label":"Big","value":"12345678901234567"}],"layout":"list"},"propsMeta":{"values":{"data.1.value":["bigint"]}}}],"kind":"RENDER"}]`,
	"search_images":                  `[{"toRender":[{"methodName":"SEARCH","label":"Person","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"results":[{"value":"0:0","label":"Ada Lovelace","description":"ada@example.com","image":{"alt":"Ada Lovelace","size":"thumbnail","url":"https://x/1.png"}},{"value":"0:1","label":"Alan Turing","description":"alan@example.com","image":{"alt":"Alan Turing","size":"thumbnail","url":"https://x/2.png"}},{"value":"0:2","label":"Grace Hopper","description":"grace@example.com","image":{"alt":"Grace Hopper","size":"thumbnail","url":"https://x/3.png"}}],"disabled":false}}],"kind":"RENDER"}]`,
	"display_metadata_lazy":          `[{"toRender":[{"methodName":"DISPLAY_METADATA","label":"Account","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"data":[{"label":"Plan","value":"pro"},{"label":"Balance","value":null,"url":"https://x/b"}],"layout":"grid"},"propsMeta":{"values":{"data.1.value":["undefined"]}}}],"kind":"RENDER"}]`,
	"with_choices_single":            `[{"toRender":[{"methodName":"INPUT_TEXT","label":"Reason","isStateful":false,"isOptional":false,"isMultiple":false,"props":{}}],"kind":"RENDER","choiceButtons":[{"label":"Approve","value":"approve","theme":"primary"},{"label":"Reject","value":"Reject"}]}]`,
	"with_choices_display":           `[{"toRender":[{"methodName":"DISPLAY_MARKDOWN","label":"Ship it?","isStateful":false,"isOptional":false,"isMultiple":false,"props":{}}],"kind":"RENDER","choiceButtons":[{"label":"Ship","value":"ship","theme":"danger"},{"label":"Wait","value":"wait","theme":"secondary"}]}]`,
	"display_table_async":            `[{"toRender":[{"methodName":"DISPLAY_TABLE","label":"Remote","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"columns":[{"label":"id","accessorKey":"id"},{"label":"name","accessorKey":"name"}],"data":[],"orientation":"horizontal","isSortable":true,"isFilterable":true,"isAsync":true}}],"kind":"RENDER"},{"toRender":[{"methodName":"DISPLAY_TABLE","label":"Remote","isStateful":true,"isOptional":false,"isMultiple":false,"props":{"columns":[{"label":"id","accessorKey":"id"},{"label":"name","accessorKey":"name"}],"data":[{"key":"1","data":{"id":2,"name":"Alan Turing"},"filterValue":"2 alan turing","menu":null},{"key":"2","data":{"id":3,"name":"Grace Hopper"},"filterValue":"3 grace hopper","menu":null}],"orientation":"horizontal","isSortable":true,"isFilterable":true,"totalRecords":3,"isAsync":true},"propsMeta":{"values":{"data.0.menu":["undefined"],"data.1.menu":["undefined"]}}}],"kind":"RENDER"}]`,
	"display_progress_steps":         `[{"toRender":[{"methodName":"DISPLAY_PROGRESS_STEPS","label":"Import","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"steps":{"completed":2,"total":5},"currentStep":"Rows","subTitle":"a.csv"}}],"kind":"RENDER"}]`,
	"display_progress_indeterminate": `[{"toRender":[{"methodName":"DISPLAY_PROGRESS_INDETERMINATE","label":"Waiting","isStateful":false,"isOptional":false,"isMultiple":false,"props":{}}],"kind":"RENDER"}]`,
	"display_progress_through_list":  `[{"toRender":[{"methodName":"DISPLAY_PROGRESS_THROUGH_LIST","label":"Steps","isStateful":false,"isOptional":false,"isMultiple":false,"props":{"items":[{"label":"Fetch","isComplete":true,"resultDescription":"ok"},{"label":"Send","isComplete":false,"resultDescription":null}]}}],"kind":"RENDER"}]`,
}

// person is the row type of the node-golden tables, grid and search.
type person struct {
	ID     int    `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Active bool   `json:"active"`
}

var people = []person{
	{1, "Ada Lovelace", "ada@example.com", true},
	{2, "Alan Turing", "alan@example.com", false},
	{3, "Grace Hopper", "grace@example.com", true},
}

// nodeCase is the Go equivalent of one node-renders.js case: run shows the
// component (and waits, for inputs); states are the SET_STATE values sent
// to the component labelled label, each answered by one re-render.
type nodeCase struct {
	run    func(ctx context.Context, tx *interval.Tx) error
	label  string
	states []any
}

func runErr[T any](_ T, err error) error { return err }

var nodeCases = map[string]nodeCase{
	"input_text_multiline": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Input.Text("Notes").Multiline(4).Default("Dear customer,").Disabled().Run(ctx))
	}},
	"input_email": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Input.Email("Email").Placeholder("name@example.com").Default("ops@example.com").HelpText("Work address").Run(ctx))
	}},
	"input_number_prepend": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Input.Number("Weight").Prepend("kg").Placeholder("Weight").Default(70).Decimals(1).Run(ctx))
	}},
	"input_slider": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Input.Slider("Level", 0, 10).Step(0.5).Default(5).HelpText("How loud").Disabled().Run(ctx))
	}},
	"input_url": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Input.URL("Site").Placeholder("https://…").HelpText("Your site").Default("https://example.com").Run(ctx))
	}},
	"input_url_protocols": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Input.URL("Hook").AllowedProtocols("https").Run(ctx))
	}},
	"input_boolean_disabled": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Input.Boolean("Agree").Default(true).Disabled().Run(ctx))
	}},
	"input_rich_text": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Input.RichText("Body").Default("<p>hi</p>").Placeholder("Write").HelpText("HTML").Run(ctx))
	}},
	"input_date_max": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Input.Date("Day").Default(interval.Date{Year: 2024, Month: 3, Day: 9}).Max(interval.Date{Year: 2024, Month: 12, Day: 31}).Run(ctx))
	}},
	"input_time": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Input.Time("At").Min(interval.TimeOfDay{Hour: 9}).Max(interval.TimeOfDay{Hour: 17, Minute: 30}).
			Default(interval.TimeOfDay{Hour: 10, Minute: 15}).HelpText("Local").Run(ctx))
	}},
	"input_datetime_bounds": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Input.DateTime("When").
			Min(interval.DateTime{Date: interval.Date{Year: 2024, Month: 1, Day: 1}}).
			Max(interval.DateTime{Date: interval.Date{Year: 2024, Month: 12, Day: 31}, TimeOfDay: interval.TimeOfDay{Hour: 23, Minute: 59}}).
			Optional().Run(ctx))
	}},
	"upload_file": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Input.File("Data").AllowedExtensions(".csv").HelpText("A CSV export").Run(ctx))
	}},
	"upload_file_multiple": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Input.File("Docs").Multiple().Run(ctx))
	}},
	"input_spreadsheet": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(interval.Spreadsheet[lineItem](tx.IO, "Items").Default(lineItem{Name: "pen", Price: 1.5}).HelpText("One line per item").Run(ctx))
	}},
	"search": {label: "User", states: []any{map[string]any{"queryTerm": "A"}}, run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(interval.Search(tx.IO, "User", func(ctx context.Context, q string) ([]person, error) {
			var out []person
			for _, p := range people {
				if strings.HasPrefix(p.Name, q) {
					p.Name, _, _ = strings.Cut(p.Name, " ")
					out = append(out, p)
				}
			}
			return out, nil
		}, func(p person) interval.SearchResult {
			return interval.SearchResult{Label: p.Name, Description: "#" + strings.TrimSpace(jsonNumber(p.ID))}
		}).InitialResults(person{ID: 3, Name: "Grace"}).Placeholder("Name").HelpText("Type a name").Run(ctx))
	}},
	"search_multiple_default": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(interval.Search(tx.IO, "Tags", func(ctx context.Context, q string) ([]string, error) {
			return []string{q + "1", q + "2"}, nil
		}, func(s string) interval.SearchResult { return interval.SearchResult{Label: s} }).Multiple().Default("go").Run(ctx))
	}},
	"select_single_rich": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(interval.SelectSingle(tx.IO, "Plan", []interval.Option[string]{
			{Label: "Free", Value: "free", Description: "Up to 3 seats", Image: &interval.Image{URL: "https://x/free.png", Alt: "Free", Size: interval.SizeThumbnail}},
			{Label: "Pro", Value: "pro"},
		}).Searchable().Disabled().HelpText("Billing plan").Run(ctx))
	}},
	"select_table": {label: "Accounts", states: []any{map[string]any{"queryTerm": "a", "sortColumn": "name", "sortDirection": "desc", "offset": 0, "pageSize": 10, "isSelectAll": true}},
		run: func(ctx context.Context, tx *interval.Tx) error {
			return runErr(interval.SelectTable(tx.IO, "Accounts", people).
				Columns(interval.Column[person]{Accessor: "id"}, interval.Column[person]{Accessor: "name"}, interval.Column[person]{Label: "Mail", Accessor: "email"}).
				MinSelections(1).MaxSelections(2).PageSize(10).HelpText("Pick accounts").
				InitiallySelected(func(p person) bool { return p.Active }).
				RowMenu(func(p person) []interval.MenuItem {
					return []interval.MenuItem{{Label: "Open", Route: "accounts/open", Params: map[string]any{"id": p.ID}}}
				}).Run(ctx))
		}},
	"confirm_identity": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.ConfirmIdentity("Confirm it's you").GracePeriod(time.Minute).Run(ctx))
	}},
	"display_code": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.Code("Query", "SELECT 1").Language("sql").Run(ctx)
	}},
	"display_heading": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.Heading("Title").Level(3).Description("Sub").MenuItems(
			interval.MenuItem{Label: "Go", Route: "a", Params: map[string]any{"id": 1}},
			interval.MenuItem{Label: "Docs", URL: "https://x/docs", Theme: interval.ThemePrimary},
			interval.MenuItem{Label: "Soon", Disabled: true},
		).Run(ctx)
	}},
	"display_html": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.HTML("Note", "<b>bold</b>").Run(ctx)
	}},
	"display_image": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.Image("Logo", "https://x/logo.png").Alt("Logo").Size(interval.SizeSmall).Run(ctx)
	}},
	"display_link_url": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.Link("Docs", "https://x/docs").Theme(interval.ThemeSecondary).Run(ctx)
	}},
	"display_link_route": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.Link("Refund", "").Route("billing/refund", map[string]any{"id": 7}).Run(ctx)
	}},
	"display_link_href": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.Link("Old", "").Href("https://x/old").Theme(interval.ThemeDanger).Run(ctx)
	}},
	"display_object": {run: func(ctx context.Context, tx *interval.Tx) error {
		big, _ := new(big.Int).SetString("12345678901234567", 10)
		return tx.IO.Display.Object("Order", map[string]any{"id": 1, "at": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "big": big,
			"lines": []map[string]any{{"sku": "A", "qty": 2}}}).Run(ctx)
	}},
	"display_video": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.Video("Demo", "https://x/v.mp4").Size(interval.SizeLarge).Loop().Muted().Run(ctx)
	}},
	"display_video_width_height": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.Video("Clip", "https://x/c.mp4").Width(interval.SizeSmall).Height(interval.SizeMedium).Run(ctx)
	}},
	"display_image_width_height": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.Image("Banner", "https://x/b.png").Width(interval.SizeLarge).Height(interval.SizeThumbnail).Run(ctx)
	}},
	"display_grid": {label: "People", states: []any{map[string]any{"queryTerm": "gr", "offset": 0, "pageSize": 12}}, run: func(ctx context.Context, tx *interval.Tx) error {
		return interval.DisplayGrid(tx.IO, "People", people, func(p person) interval.GridItem {
			id := jsonNumber(p.ID)
			return interval.GridItem{Label: p.Name, Description: p.Email,
				Image: &interval.GridImage{URL: "https://x/" + id + ".png", Alt: p.Name, Fit: "cover", AspectRatio: 1.5},
				Menu:  []interval.MenuItem{{Label: "Open", Route: "people/open", Params: map[string]any{"id": p.ID}}},
				Route: "people/view", Params: map[string]any{"id": p.ID}}
		}).IdealColumnWidth(240).PageSize(12).HelpText("Everyone").Run(ctx)
	}},
	"display_table_cells": {label: "Cells", states: []any{map[string]any{"offset": 0, "pageSize": 2, "sortColumn": "active", "sortDirection": "asc"}},
		run: func(ctx context.Context, tx *interval.Tx) error {
			return interval.DisplayTable(tx.IO, "Cells", people).Columns(
				interval.Column[person]{Label: "Name", Accessor: "name", Render: func(p person) interval.Cell {
					return interval.Cell{Label: p.Name, Value: p.ID, Href: "https://x/p/" + jsonNumber(p.ID)}
				}},
				interval.Column[person]{Label: "Open", Render: func(p person) interval.Cell {
					return interval.Cell{Label: "Open", Route: "people/open", Params: map[string]any{"id": p.ID}}
				}},
				interval.Column[person]{Label: "Avatar", Render: func(p person) interval.Cell {
					return interval.Cell{Label: p.Name, Image: &interval.Image{URL: "https://x/" + jsonNumber(p.ID) + ".png", Alt: "avatar", Size: interval.SizeThumbnail}}
				}},
				interval.Column[person]{Label: "Active", Accessor: "active", Render: func(p person) interval.Cell {
					c := interval.Cell{Label: "no", Value: p.Active, HighlightColor: interval.HighlightRed}
					if p.Active {
						c.Label, c.HighlightColor = "yes", interval.HighlightGreen
					}
					return c
				}},
				interval.Column[person]{Label: "Mail", Render: func(p person) interval.Cell {
					return interval.Cell{Label: p.Email, URL: "mailto:" + p.Email}
				}},
			).Vertical().Sortable(false).Filterable(false).PageSize(2).HelpText("Rich cells").Run(ctx)
		}},
	"display_grid_async": {label: "Remote cards", states: []any{map[string]any{"queryTerm": "x", "offset": 1, "pageSize": 2}},
		run: func(ctx context.Context, tx *interval.Tx) error {
			return interval.DisplayGridAsync(tx.IO, "Remote cards", func(ctx context.Context, st interval.TableState) ([]person, int, error) {
				return people[st.Offset:min(st.Offset+st.PageSize, len(people))], len(people), nil
			}, func(p person) interval.GridItem {
				return interval.GridItem{Label: p.Name, URL: "https://x/" + jsonNumber(p.ID)}
			}).Run(ctx)
		}},
	"display_metadata_images": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.Metadata("Profile",
			interval.MetaItem{Label: "Photo", Value: "Ada", Image: &interval.Image{URL: "https://x/ada.png", Alt: "Ada", Size: interval.SizeSmall}},
			interval.MetaItem{Label: "Big", Value: bigOf("12345678901234567")},
		).Layout(interval.LayoutList).Run(ctx)
	}},
	"search_images": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(interval.Search(tx.IO, "Person", func(ctx context.Context, q string) ([]person, error) { return people, nil },
			func(p person) interval.SearchResult {
				return interval.SearchResult{Label: p.Name, Description: p.Email,
					Image: &interval.Image{URL: "https://x/" + jsonNumber(p.ID) + ".png", Alt: p.Name, Size: interval.SizeThumbnail}}
			}).InitialResults(people...).Run(ctx))
	}},
	"display_metadata_lazy": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.Metadata("Account", interval.MetaItem{Label: "Plan", Value: "pro"},
			interval.MetaItem{Label: "Balance", URL: "https://x/b", Lazy: func(ctx context.Context) (any, error) {
				<-ctx.Done() // never resolves, like the Node case's promise
				return nil, ctx.Err()
			}}).Run(ctx)
	}},
	"with_choices_single": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Group(tx.IO.Input.Text("Reason")).WithChoices(
			interval.Choice{Label: "Approve", Value: "approve", Theme: interval.ThemePrimary}, interval.ChoiceOf("Reject")).Run(ctx))
	}},
	"with_choices_display": {run: func(ctx context.Context, tx *interval.Tx) error {
		return runErr(tx.IO.Group(tx.IO.Display.Markdown("Ship it?")).WithChoices(
			interval.Choice{Label: "Ship", Value: "ship", Theme: interval.ThemeDanger},
			interval.Choice{Label: "Wait", Value: "wait", Theme: interval.ThemeSecondary}).Run(ctx))
	}},
	"display_table_async": {label: "Remote", states: []any{map[string]any{"offset": 1, "pageSize": 2}}, run: func(ctx context.Context, tx *interval.Tx) error {
		return interval.DisplayTableAsync(tx.IO, "Remote", func(ctx context.Context, st interval.TableState) ([]person, int, error) {
			end := min(st.Offset+st.PageSize, len(people))
			if st.Offset >= end {
				return nil, len(people), nil
			}
			return people[st.Offset:end], len(people), nil
		}).Columns(interval.Column[person]{Accessor: "id"}, interval.Column[person]{Accessor: "name"}).Run(ctx)
	}},
	"display_progress_steps": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.ProgressSteps("Import", 2, 5).CurrentStep("Rows").SubTitle("a.csv").Run(ctx)
	}},
	"display_progress_indeterminate": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.ProgressIndeterminate("Waiting").Run(ctx)
	}},
	"display_progress_through_list": {run: func(ctx context.Context, tx *interval.Tx) error {
		return tx.IO.Display.ProgressThroughList("Steps",
			interval.ProgressItem{Label: "Fetch", IsComplete: true, Result: "ok"}, interval.ProgressItem{Label: "Send"}).Run(ctx)
	}},
}

func jsonNumber(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestGoldenNodeRenders checks, for every IO method the traces do not
// cover, that our render of the equivalent call has the same components
// (method, label, props, propsMeta, flags, multipleProps) as the Node
// SDK's, and so do the re-renders after state updates.
func TestGoldenNodeRenders(t *testing.T) {
	if len(nodeCases) != len(nodeRenders) {
		t.Fatalf("%d Go cases for %d Node renders", len(nodeCases), len(nodeRenders))
	}
	for name, want := range nodeRenders {
		t.Run(name, func(t *testing.T) {
			c, ok := nodeCases[name]
			if !ok {
				t.Fatalf("no Go case for %s", name)
			}
			var renders []map[string]any
			if err := json.Unmarshal([]byte(want), &renders); err != nil {
				t.Fatal(err)
			}
			if len(renders) != 1+len(c.states) {
				t.Fatalf("%d Node renders for %d states", len(renders), len(c.states))
			}
			a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
				err := c.run(ctx, tx)
				if errors.Is(err, interval.ErrClosed) || errors.Is(err, context.Canceled) {
					return nil, nil
				}
				return nil, err
			})
			r := a.next()
			sameRender(t, renders[0], r)
			for i, st := range c.states {
				a.setState(r, intervaltest.Values{c.label: st})
				r = a.next()
				sameRender(t, renders[i+1], r)
			}
		})
	}
}
