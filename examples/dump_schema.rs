fn main() {
    print!("{}", soy::manifest::schema::generate_text());
}
