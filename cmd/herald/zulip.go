package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// ZulipCmd manages the Zulip dialect's users and streams (admin key).
type ZulipCmd struct {
	User   ZulipUserCmd   `cmd:"" help:"Add, list and remove Zulip users (each gets an API key)."`
	Stream ZulipStreamCmd `cmd:"" help:"Add and list Zulip streams."`
}

// ZulipUserCmd groups the user commands.
type ZulipUserCmd struct {
	Add    ZulipUserAddCmd    `cmd:"" help:"Add a user and print their API key, once."`
	List   ZulipUserListCmd   `cmd:"" help:"List the users."`
	Remove ZulipUserRemoveCmd `cmd:"" help:"Remove a user: their API key stops working."`
}

// ZulipStreamCmd groups the stream commands.
type ZulipStreamCmd struct {
	Add  ZulipStreamAddCmd  `cmd:"" help:"Add a stream."`
	List ZulipStreamListCmd `cmd:"" help:"List the streams."`
}

// zulipUser is a user as the admin endpoints show it.
type zulipUser struct {
	UserID   int64     `json:"user_id"`
	Email    string    `json:"email"`
	FullName string    `json:"full_name"`
	Realm    string    `json:"realm"`
	Bot      bool      `json:"bot"`
	KeyID    string    `json:"key_id"`
	Created  time.Time `json:"created"`
	APIKey   string    `json:"api_key,omitempty"`
}

// ZulipUserAddCmd adds a user.
type ZulipUserAddCmd struct {
	Email    string `arg:"" help:"The user's email, their Zulip login."`
	FullName string `name:"name" required:"" help:"Full name."`
	Realm    string `help:"Realm (default: the server's, zulip)."`
	Bot      bool   `help:"Mark the user as a bot."`

	IO cmdIO `kong:"-"`
}

// Run adds the user and prints a zuliprc for them.
func (c *ZulipUserAddCmd) Run(ctx context.Context, g *Globals) error {
	var u zulipUser
	body := map[string]any{"email": c.Email, "full_name": c.FullName, "realm": c.Realm, "bot": c.Bot}
	if err := adminCall(ctx, g, "POST", "/v1/zulip/users", body, &u); err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stdout(), "[api]\nemail=%s\nkey=%s\nsite=%s\n", u.Email, u.APIKey, strings.TrimRight(g.URL, "/"))
	fmt.Fprintf(c.IO.stderr(), "User %d in realm %s. Store the key now: the server keeps only a hash of it.\n", u.UserID, u.Realm)
	return nil
}

// ZulipUserListCmd lists users.
type ZulipUserListCmd struct {
	Realm string `help:"Only this realm."`

	IO cmdIO `kong:"-"`
}

// Run prints the users as a table.
func (c *ZulipUserListCmd) Run(ctx context.Context, g *Globals) error {
	var out struct{ Users []zulipUser }
	if err := adminCall(ctx, g, "GET", "/v1/zulip/users?realm="+url.QueryEscape(c.Realm), nil, &out); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.IO.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tREALM\tBOT\tKEY")
	for _, u := range out.Users {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%t\t%s\n", u.UserID, u.Email, u.FullName, u.Realm, u.Bot, u.KeyID)
	}
	return tw.Flush()
}

// ZulipUserRemoveCmd removes a user.
type ZulipUserRemoveCmd struct {
	Email string `arg:"" help:"The user's email."`
}

// Run removes the user.
func (c *ZulipUserRemoveCmd) Run(ctx context.Context, g *Globals) error {
	if err := adminCall(ctx, g, "DELETE", "/v1/zulip/users/"+url.PathEscape(c.Email), nil, nil); err != nil {
		return err
	}
	return nil
}

// ZulipStreamAddCmd adds a stream.
type ZulipStreamAddCmd struct {
	Name        string `arg:"" help:"Stream name."`
	Description string `help:"Description (Markdown)."`
	Realm       string `help:"Realm (default: the server's, zulip)."`

	IO cmdIO `kong:"-"`
}

// Run adds the stream and prints its id.
func (c *ZulipStreamAddCmd) Run(ctx context.Context, g *Globals) error {
	var s struct {
		StreamID int64  `json:"stream_id"`
		Realm    string `json:"realm"`
	}
	body := map[string]any{"name": c.Name, "description": c.Description, "realm": c.Realm}
	if err := adminCall(ctx, g, "POST", "/v1/zulip/streams", body, &s); err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stdout(), "stream %d in realm %s\n", s.StreamID, s.Realm)
	return nil
}

// ZulipStreamListCmd lists streams.
type ZulipStreamListCmd struct {
	Realm string `help:"Only this realm."`

	IO cmdIO `kong:"-"`
}

// Run prints the streams as a table.
func (c *ZulipStreamListCmd) Run(ctx context.Context, g *Globals) error {
	var out struct {
		Streams []struct {
			StreamID    int64  `json:"stream_id"`
			Name        string `json:"name"`
			Description string `json:"description"`
			Realm       string `json:"realm"`
		}
	}
	if err := adminCall(ctx, g, "GET", "/v1/zulip/streams?realm="+url.QueryEscape(c.Realm), nil, &out); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.IO.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tREALM\tDESCRIPTION")
	for _, s := range out.Streams {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.StreamID, s.Name, s.Realm, s.Description)
	}
	return tw.Flush()
}
