package interval

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// UploadedFile is a file the operator uploaded with a File input. Its
// content is stored by the server (or at your presigned URL); read it with
// Open or Bytes.
type UploadedFile struct {
	Name         string    `json:"name"`
	Type         string    `json:"type"` // MIME type
	Size         int64     `json:"size"` // bytes
	LastModified time.Time `json:"lastModified"`
	URL          string    `json:"url"` // where to download it
}

// Extension returns the file name's extension with its dot (".csv").
func (f UploadedFile) Extension() string { return path.Ext(f.Name) }

// Open downloads the file with http.DefaultClient; close the body.
func (f UploadedFile) Open(ctx context.Context) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("interval: downloading %s: %w", f.Name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("interval: downloading %s: %w", f.Name, err)
	}
	if resp.StatusCode/100 != 2 {
		resp.Body.Close()
		return nil, fmt.Errorf("interval: downloading %s: HTTP %s", f.Name, resp.Status)
	}
	return resp.Body, nil
}

// Bytes downloads the whole file, refusing more than limit bytes (0 = no
// limit).
func (f UploadedFile) Bytes(ctx context.Context, limit int64) ([]byte, error) {
	body, err := f.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	r := io.Reader(body)
	if limit > 0 {
		r = io.LimitReader(body, limit+1)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("interval: downloading %s: %w", f.Name, err)
	}
	if limit > 0 && int64(len(b)) > limit {
		return nil, fmt.Errorf("interval: %s is larger than %d bytes", f.Name, limit)
	}
	return b, nil
}

// FileInput asks the operator to upload a file.
type FileInput struct {
	field[UploadedFile]
	p       fileProps
	presign func(ctx context.Context, name, mimeType string) (uploadURL, downloadURL string, err error)
}

type fileURL struct {
	UploadURL   string `json:"uploadUrl"`
	DownloadURL string `json:"downloadUrl"`
}

type fileProps struct {
	HelpText          string     `json:"helpText,omitempty"`
	AllowedExtensions []string   `json:"allowedExtensions,omitempty"`
	Disabled          bool       `json:"disabled,omitempty"`
	FileURLs          *[]fileURL `json:"fileUrls,omitempty"` // pointer to nil: null (waiting for URLs)
}

type fileState struct {
	Files []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"files"`
	Name string `json:"name"`
	Type string `json:"type"`
}

type wireFile struct {
	Name         *string  `json:"name"`
	Type         *string  `json:"type"`
	LastModified *float64 `json:"lastModified"`
	Size         *float64 `json:"size"`
	URL          *string  `json:"url"`
}

// File asks for a file upload (UPLOAD_FILE). The server stores the file
// unless PresignedURLs is set.
func (in InputIO) File(label string) *FileInput {
	f := &FileInput{field: newField[UploadedFile](in.c, "UPLOAD_FILE", label)}
	f.stateful = true
	f.props = func() any { return f.p }
	f.bind(f.decodeFile)
	f.onState = func(ctx context.Context, raw json.RawMessage) error {
		var st fileState
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("upload state: %w", err)
		}
		if f.presign == nil {
			return nil
		}
		if len(st.Files) == 0 && st.Name != "" {
			st.Files = append(st.Files, struct {
				Name string `json:"name"`
				Type string `json:"type"`
			}{st.Name, st.Type})
		}
		urls := make([]fileURL, 0, len(st.Files))
		for _, fs := range st.Files {
			up, down, err := f.presign(ctx, fs.Name, fs.Type)
			if err != nil {
				return fmt.Errorf("presigning %s: %w", fs.Name, err)
			}
			urls = append(urls, fileURL{UploadURL: up, DownloadURL: down})
		}
		f.p.FileURLs = &urls
		return nil
	}
	return f
}

func (f *FileInput) decodeFile(raw json.RawMessage) (UploadedFile, string) {
	var w wireFile
	if err := json.Unmarshal(raw, &w); err != nil || w.Name == nil || w.URL == nil || w.Size == nil {
		return UploadedFile{}, "Please upload a file."
	}
	v := UploadedFile{Name: *w.Name, URL: *w.URL, Size: int64(*w.Size)}
	if w.Type != nil {
		v.Type = *w.Type
	}
	if w.LastModified != nil {
		v.LastModified = time.UnixMilli(int64(*w.LastModified)).UTC()
	}
	if len(f.p.AllowedExtensions) > 0 {
		ext := strings.ToLower(v.Extension())
		if !slices.ContainsFunc(f.p.AllowedExtensions, func(a string) bool {
			return strings.ToLower("."+strings.TrimPrefix(a, ".")) == ext
		}) {
			return UploadedFile{}, fmt.Sprintf("Please upload a file of type %s.", strings.Join(f.p.AllowedExtensions, ", "))
		}
	}
	return v, ""
}

// HelpText sets the text shown under the label.
func (f *FileInput) HelpText(s string) *FileInput { f.p.HelpText = s; return f }

// AllowedExtensions restricts the accepted file name extensions
// (".csv", ".pdf", …).
func (f *FileInput) AllowedExtensions(exts ...string) *FileInput {
	f.p.AllowedExtensions = append([]string{}, exts...)
	return f
}

// PresignedURLs makes the browser upload each file to a URL you choose:
// gen returns an upload URL (HTTP PUT) and the URL to download it from.
func (f *FileInput) PresignedURLs(gen func(ctx context.Context, name, mimeType string) (uploadURL, downloadURL string, err error)) *FileInput {
	f.presign = gen
	if gen != nil {
		f.p.FileURLs = new([]fileURL)
		*f.p.FileURLs = nil
	} else {
		f.p.FileURLs = nil
	}
	return f
}

// Disabled shows the upload field read-only.
func (f *FileInput) Disabled() *FileInput { f.p.Disabled = true; return f }

// Optional lets the operator upload nothing.
func (f *FileInput) Optional() *FileInput { f.optional = true; return f }

// Validate sets a check of the file.
func (f *FileInput) Validate(fn func(UploadedFile) error) *FileInput { f.validate = fn; return f }

// Multiple lets the operator upload several files; Run then returns
// []UploadedFile. Options set on f before Multiple still apply.
func (f *FileInput) Multiple() *ListInput[UploadedFile] {
	return newList(f.component, f.decodeFile, func(UploadedFile) (any, bool) { return nil, false })
}

// Run shows the upload field alone and returns the uploaded file.
func (f *FileInput) Run(ctx context.Context) (UploadedFile, error) { return f.run(ctx) }
