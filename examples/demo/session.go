package main

import "fmt"

// DemoSession is what the demo keeps in its session cookies.
type DemoSession struct {
	// Visits counts the pages this session has viewed.
	Visits int `json:"visits,omitempty"`

	// User is the signed-in user's name; empty when signed out.
	User string `json:"user,omitempty"`

	// Cart is the shopping cart: one line per addition, so that it grows
	// with every click (what this demo is about); the page merges the
	// lines of a product into one with its quantity (see Lines).
	Cart []CartItem `json:"cart,omitempty"`

	// SocketCounter is the counter of the WebSocket page.
	SocketCounter int `json:"socketCounter,omitempty"`
}

// CartItem is one line of the cart.
type CartItem struct {
	SKU   string `json:"sku"`
	Name  string `json:"name"`
	Qty   int    `json:"qty"`
	Price int    `json:"price"` // in cents
}

// PriceText formats the unit price, for the page.
func (it CartItem) PriceText() string { return fmt.Sprintf("€%d.%02d", it.Price/100, it.Price%100) }

// TotalText formats the line's total (price times quantity), for the page.
func (it CartItem) TotalText() string { return CartItem{Price: it.Price * it.Qty}.PriceText() }

// Lines returns the cart with the lines of each product merged into one,
// their quantities added, in the order the products were first added.
func (s *DemoSession) Lines() []CartItem {
	var out []CartItem
	at := map[string]int{}
	for _, it := range s.Cart {
		if i, ok := at[it.SKU]; ok {
			out[i].Qty += it.Qty
			continue
		}
		at[it.SKU] = len(out)
		out = append(out, it)
	}
	return out
}

// Units returns the number of units in the cart.
func (s *DemoSession) Units() int {
	n := 0
	for _, it := range s.Cart {
		n += it.Qty
	}
	return n
}

// catalog is what "Add to cart" picks from, in turn.
var catalog = []CartItem{
	{"MUG-0042", "Hand-thrown stoneware mug, speckled oat glaze, 350 ml", 1, 2400},
	{"TEA-0107", "Loose-leaf first flush Darjeeling, 100 g tin", 1, 1650},
	{"NBK-0311", "A5 dot-grid notebook, 192 pages, lay-flat binding", 1, 1900},
	{"PEN-0205", "Brass fountain pen, fine nib, with converter", 1, 6500},
	{"CLT-0518", "Linen tea towel, natural flax, 50 × 70 cm", 2, 1200},
	{"CDL-0733", "Beeswax pillar candle, 7 × 10 cm, unscented", 1, 1450},
	{"BWL-0908", "Walnut serving bowl, oiled finish, 24 cm", 1, 5800},
	{"SOC-1120", "Merino wool socks, charcoal, size 39–42", 3, 1800},
}
