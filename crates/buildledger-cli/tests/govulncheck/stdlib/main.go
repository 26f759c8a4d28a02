package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"html/template"
	"net/mail"
	"net/textproto"
	"os"
)

func main() {
	t := template.Must(template.New("p").Parse(`<script>var x = "{{.}}";</script><a href="{{.}}">x</a>`))
	if err := t.Execute(os.Stdout, "buildledger"); err != nil {
		panic(err)
	}
	fmt.Println()
	a, err := mail.ParseAddress("Build Ledger <ledger@example.com>")
	fmt.Println(a, err)
	r := textproto.NewReader(bufio.NewReader(bytes.NewBufferString("K: v\r\n\r\n")))
	h, err := r.ReadMIMEHeader()
	fmt.Println(h, err)
	_, err = tar.NewReader(bytes.NewReader(nil)).Next()
	fmt.Println(err)
}
