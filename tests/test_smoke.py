def test_login_page_is_served_in_french(client):
    response = client.get("/connexion/")
    assert response.status_code == 200
    assert "Connexion à Espace Partenaires" in response.text
