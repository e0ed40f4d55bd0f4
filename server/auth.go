package server

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
)

// TokenIssuer is the iss claim of every access token (and of the
// dashboard's session tokens).
const TokenIssuer = "doorstep"

// tokenAudience is the aud claim of the API's access tokens: a token made
// for anything else (the dashboard's sessions) is not one.
const tokenAudience = "doorstep-api"

// claims are the access token's claims (docs/sync-protocol.md §5).
type claims struct {
	Role   string `json:"role"`
	Team   string `json:"team,omitempty"`
	Device string `json:"dev,omitempty"`
	// Gen is the device's token generation when the token was made: a
	// logout, a reused refresh token, a revocation or a password reset
	// raises it, and the token stops (serverdb.DB.TokenUser).
	Gen int64 `json:"gen"`
	jwt.RegisteredClaims
}

func (s *Server) accessToken(u schema.User, deviceID string, gen int64) (string, error) {
	now := s.cfg.Now()
	c := claims{Role: string(u.Role), Team: u.TeamID, Device: deviceID, Gen: gen, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: TokenIssuer, Subject: u.ID, Audience: jwt.ClaimStrings{tokenAudience},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)),
	}}
	return s.SignToken("", c)
}

// parseToken verifies an access token with the algorithm pinned to HS256,
// so "alg: none" and tokens signed any other way are refused. Its audience
// must be the API's, its issue time not in the future and its lifetime no
// longer than the server gives (a token signed with a stolen key and made
// to live a year is refused), and it must name a user and a device. An
// expired token whose signature verified comes back with its claims beside
// the token_expired error, so that the device hears its standing.
func (s *Server) parseToken(tok string) (*claims, error) {
	var c claims
	_, err := jwt.ParseWithClaims(tok, &c, s.TokenKeyfunc(""),
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(TokenIssuer), jwt.WithAudience(tokenAudience),
		jwt.WithIssuedAt(), jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.cfg.Now))
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired) && c.Subject != "" && c.Device != "":
		// jwt checks the signature before the times: the claims are ours.
		return &c, errorf(schema.ECodeTokenExpired, "Authorization", "the access token has expired; refresh it")
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, errorf(schema.ECodeTokenExpired, "Authorization", "the access token has expired; refresh it")
	default:
		return nil, errorf(schema.ECodeUnauthorized, "Authorization", "the access token is not valid")
	}
	if c.Subject == "" || c.Device == "" || c.IssuedAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > s.cfg.AccessTTL {
		return nil, errorf(schema.ECodeUnauthorized, "Authorization", "the access token is not valid")
	}
	return &c, nil
}

// authed requires a valid access token from a device of its user that is
// not revoked, of a user who is not disabled (so disabling takes effect at
// once, not when the access token expires), and puts the actor in the
// request's locals: its role and team are the user's row's now, not the
// token's claims.
func (s *Server) authed(c *fiber.Ctx) error {
	h := c.Get(fiber.HeaderAuthorization)
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return errorf(schema.ECodeUnauthorized, "Authorization", "sign in first: send Authorization: Bearer <access token>")
	}
	cl, err := s.parseToken(tok)
	if err != nil {
		if cl != nil && cl.Device != "" {
			// Expired, but signed by us: the device proved who it is,
			// and hears whether it was revoked (lease.go).
			s.tellStandingOf(c, cl.Device)
		}
		return err
	}
	u, err := s.db.TokenUser(c.UserContext(), cl.Subject, cl.Device, cl.Gen)
	if err != nil {
		if schema.ErrorCode(err) == schema.ECodeDeviceRevoked {
			tellStanding(c, true)
		}
		return err
	}
	s.grantLease(c, u, cl.Device)
	c.Locals("actor", serverdb.ActorOf(u, cl.Device))
	return c.Next()
}

func actorOf(c *fiber.Ctx) serverdb.Actor {
	a, _ := c.Locals("actor").(serverdb.Actor)
	return a
}

func (s *Server) adminOnly(c *fiber.Ctx) error {
	if actorOf(c).Role != schema.RoleAdmin {
		return errorf(schema.ECodeForbidden, "", "only an admin may use the admin routes (/v1/admin/…)")
	}
	return c.Next()
}

func (s *Server) tokenResponse(c *fiber.Ctx, u schema.User, deviceID, refresh string) error {
	gen, err := s.db.TokenGeneration(c.UserContext(), deviceID)
	if err != nil {
		return err
	}
	access, err := s.accessToken(u, deviceID, gen)
	if err != nil {
		return err
	}
	s.grantLease(c, u, deviceID)
	return c.JSON(schema.TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTTL / time.Second),
		RefreshToken: refresh, User: u, ServerTime: s.cfg.Now().UTC(), ServerPublicKey: s.pubKey, OutboxKey: s.outbox.public()})
}

// SignIn checks a sign-in from the request's client against the store's
// counts of failed ones (serverdb.DB.SignIn), for the API's login and the
// dashboard's sign-in ("" for deviceID) alike; a refusal that brings a
// wait sets Retry-After (whole seconds, rounded up).
func (s *Server) SignIn(c *fiber.Ctx, username, password, deviceID, via string) (schema.User, serverdb.Throttle, error) {
	u, th, err := s.db.SignIn(c.UserContext(), serverdb.SignInAttempt{Username: username, Password: password, Address: c.IP(),
		DeviceID: deviceID, Via: via})
	retryAfter(c, th)
	return u, th, err
}

// retryAfter sets Retry-After (whole seconds, rounded up) when th brings a
// wait.
func retryAfter(c *fiber.Ctx, th serverdb.Throttle) {
	if th.Wait > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((th.Wait+time.Second-1)/time.Second)))
	}
}

// login: POST /v1/auth/login.
func (s *Server) login(c *fiber.Ctx) error {
	body, err := readBody(c, schema.MaxBody)
	if err != nil {
		return err
	}
	var req schema.LoginRequest
	if err := decodeTolerant(body, &req); err != nil { // a tablet's: §8
		return err
	}
	switch {
	case req.Username == "":
		return errorf(schema.ECodeRequired, "username", "username is required")
	case req.Password == "":
		return errorf(schema.ECodeRequired, "password", "password is required")
	case req.DeviceID == "":
		return errorf(schema.ECodeRequired, "device_id", "device_id is required")
	case len(req.Username) > 100 || len(req.Password) > 200:
		return errorf(schema.ECodeInvalid, "username", "username or password too long")
	case !serverdb.ValidDeviceID(req.DeviceID):
		return errorf(schema.ECodeInvalid, "device_id", "device_id must be 1-64 letters, digits, '.', '_' or '-'")
	}
	u, _, err := s.SignIn(c, req.Username, req.Password, req.DeviceID, "api")
	if err != nil {
		return err
	}
	refresh, err := s.db.Login(c.UserContext(), u, req.DeviceID, serverdb.DeviceInfo{Name: req.DeviceName, AppVersion: req.AppVersion, PublicKey: req.DevicePublicKey}, s.cfg.RefreshTTL)
	if err != nil {
		if schema.ErrorCode(err) == schema.ECodeDeviceRevoked {
			tellStanding(c, true) // the password was right: the device hears it
		}
		return err
	}
	return s.tokenResponse(c, u, req.DeviceID, refresh)
}

// refresh: POST /v1/auth/refresh.
func (s *Server) refresh(c *fiber.Ctx) error {
	body, err := readBody(c, schema.MaxBody)
	if err != nil {
		return err
	}
	var req schema.RefreshRequest
	if err := decodeTolerant(body, &req); err != nil { // a tablet's: §8
		return err
	}
	if req.RefreshToken == "" {
		return errorf(schema.ECodeRequired, "refresh_token", "refresh_token is required")
	}
	if req.DeviceID == "" {
		return errorf(schema.ECodeRequired, "device_id", "device_id is required")
	}
	u, refresh, err := s.db.Refresh(c.UserContext(), req.RefreshToken, req.DeviceID, s.cfg.RefreshTTL)
	if err != nil {
		if schema.ErrorCode(err) == schema.ECodeDeviceRevoked {
			tellStanding(c, true) // the device's own refresh token: it hears it
		}
		return err
	}
	return s.tokenResponse(c, u, req.DeviceID, refresh)
}

// logout: POST /v1/auth/logout revokes the device's refresh tokens.
func (s *Server) logout(c *fiber.Ctx) error {
	if err := s.db.Logout(c.UserContext(), actorOf(c)); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"status": "ok"})
}

// me: GET /v1/me.
func (s *Server) me(c *fiber.Ctx) error {
	u, err := s.db.UserByID(c.UserContext(), actorOf(c).UserID)
	if err != nil {
		if schema.ErrorCode(err) == schema.ECodeNotFound {
			return errorf(schema.ECodeUnauthorized, "Authorization", "the user of this token no longer exists")
		}
		return err
	}
	return c.JSON(u)
}

// setup: POST /v1/auth/setup {"username", "code", "password"} sets the
// password of a user with the one-time setup code an admin gave them.
func (s *Server) setup(c *fiber.Ctx) error {
	body, err := readBody(c, schema.MaxBody)
	if err != nil {
		return err
	}
	var req struct {
		Username string `json:"username"`
		Code     string `json:"code"`
		Password string `json:"password"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	switch {
	case req.Username == "":
		return errorf(schema.ECodeRequired, "username", "username is required")
	case req.Code == "":
		return errorf(schema.ECodeRequired, "code", "code is required: the one-time setup code an admin gave you")
	case req.Password == "":
		return errorf(schema.ECodeRequired, "password", "password is required")
	case len(req.Username) > 100 || len(req.Code) > 100:
		return errorf(schema.ECodeInvalid, "code", "username or code too long")
	}
	// A wrong or spent code is a failed sign-in, counted with the others:
	// guessing codes waits as guessing passwords does.
	u, th, err := s.db.SetUp(c.UserContext(), serverdb.SignInAttempt{Username: req.Username, Password: req.Password,
		Address: c.IP(), Via: "setup"}, req.Code)
	retryAfter(c, th)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"status": "ok", "user": u})
}
